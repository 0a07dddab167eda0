// SMTP_CHECK against real SMTP peers in a namespace: Python's smtpd (Debian's python3.11,
// a third-party SMTP implementation) and a scripted line server of this test for what
// smtpd will not do (a multi-line greeting written in pieces, 554, silence, a HELO
// refused); and a closed port.
//
//   cli (this test thread) 192.0.2.1/24 ---- srv 192.0.2.2/24
//                          2001:db8::1/64       2001:db8::2/64
#include <gtest/gtest.h>

#include "servers.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;
namespace lt = lvsd::testing;

namespace {

const auto kSrv4 = *parse_address("192.0.2.2");
const auto kSrv6 = *parse_address("2001:db8::2");

struct Script {
    std::vector<std::string> greeting;  // written piece by piece, 20 ms apart; empty: never greets
    std::string helo_reply = "250 mx.example.test\r\n";
    std::string quit_reply = "221 2.0.0 bye\r\n";
};

// Speaks SMTP by the script: greets, then answers HELO and QUIT line by line (anything
// else with 500), and records the command lines it got.
class SmtpPeer {
public:
    SmtpPeer(asio::io_context& io, const tcp::endpoint& at, Script script)
        : st_(std::make_shared<State>(io, at, std::move(script))) {
        asio::co_spawn(io, accept_loop(st_), asio::detached);
    }
    ~SmtpPeer() {
        boost::system::error_code ec;
        st_->acceptor.close(ec);
        for (auto& s : st_->open) s->close(ec);
    }
    const std::vector<std::string>& commands() const { return st_->commands; }
    std::size_t accepted() const { return st_->accepted; }

private:
    struct State {
        State(asio::io_context& io, const tcp::endpoint& at, Script s) : acceptor(io, at), script(std::move(s)) {}
        tcp::acceptor acceptor;
        Script script;
        std::vector<std::string> commands;
        std::vector<std::shared_ptr<tcp::socket>> open;
        std::size_t accepted = 0;
    };
    static constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

    static asio::awaitable<void> session(std::shared_ptr<State> st, std::shared_ptr<tcp::socket> s) {
        asio::steady_timer pause(s->get_executor());
        for (const auto& piece : st->script.greeting) {
            if (auto [ec, n] = co_await asio::async_write(*s, asio::buffer(piece), kNoThrow); ec) co_return;
            pause.expires_after(20ms);
            co_await pause.async_wait(kNoThrow);
        }
        asio::streambuf buf;
        for (;;) {
            auto [ec, n] = co_await asio::async_read_until(*s, buf, "\r\n", kNoThrow);
            if (ec) co_return;
            std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n - 2);
            buf.consume(n);
            st->commands.push_back(line);
            const bool quit = line == "QUIT";
            const std::string& reply = line.starts_with("HELO ") ? st->script.helo_reply
                                       : quit                    ? st->script.quit_reply
                                                                 : std::string("500 5.5.2 unknown\r\n");
            co_await asio::async_write(*s, asio::buffer(reply), kNoThrow);
            if (quit) {
                boost::system::error_code ignored;
                s->close(ignored);
                co_return;
            }
        }
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<State> st) {
        for (;;) {
            auto s = std::make_shared<tcp::socket>(st->acceptor.get_executor());
            auto [ec] = co_await st->acceptor.async_accept(*s, kNoThrow);
            if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
            if (ec) continue;
            ++st->accepted;
            st->open.push_back(s);
            if (!st->script.greeting.empty()) asio::co_spawn(st->acceptor.get_executor(), session(st, s), asio::detached);
        }
    }

    std::shared_ptr<State> st_;
};

class SmtpNetns : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("cli");
        lab_.netns("srv");
        lab_.veth("cli", "eth0", "srv", "eth0");
        lab_.address("cli", "eth0", "192.0.2.1/24");
        lab_.address("cli", "eth0", "2001:db8::1/64");
        lab_.address("srv", "eth0", "192.0.2.2/24");
        lab_.address("srv", "eth0", "2001:db8::2/64");
        in_cli_.emplace(lab_.netns_name("cli"));
    }
    void TearDown() override {
        peers_.clear();
        in_cli_.reset();
    }

    SmtpPeer& peer(const IpAddress& a, uint16_t port, Script script) {
        InNetns in(lab_.netns_name("srv"));
        peers_.push_back(std::make_unique<SmtpPeer>(io_, tcp::endpoint{a, port}, std::move(script)));
        return *peers_.back();
    }

    static CheckSpec smtp(const IpAddress& a, uint16_t port, std::chrono::milliseconds timeout = 2s) {
        return spec_for(CheckType::Smtp, a, port, timeout);
    }

    lt::Lab lab_;
    asio::io_context io_;
    std::vector<std::unique_ptr<SmtpPeer>> peers_;
    std::optional<InNetns> in_cli_;
};

const std::string kUp = "SMTP 220 greeting, 250 to HELO, 221 to QUIT";

}  // namespace

TEST_F(SmtpNetns, AMultiLineGreetingInPiecesIsUpOverV4AndV6) {
    for (const auto& a : {kSrv4, kSrv6}) {
        auto& p = peer(a, 2525, {{"220-mx.exam", "ple.test ESMTP\r\n220", " ready\r\n"}});
        auto s = smtp(a, 2525);
        s.helo_name = "lb1.example.test";
        const auto fds = open_fds();
        auto r = run_probe(io_, s);
        EXPECT_TRUE(r.ok) << a << ": " << r.reason;
        EXPECT_EQ(r.reason, kUp);
        EXPECT_LT(r.latency, 1s);
        EXPECT_EQ(p.commands(), (std::vector<std::string>{"HELO lb1.example.test", "QUIT"}));
        // The probe's socket is closed (and the peer's, once its session ends after QUIT).
        EXPECT_TRUE(run_until(io_, [&] { return open_fds() == fds; }, 1s)) << open_fds() << " vs " << fds;
    }
}

TEST_F(SmtpNetns, A554GreetingIsDownAndNothingIsSent) {
    auto& p = peer(kSrv4, 2526, {{"554 5.3.2 no service here\r\n"}});
    auto r = run_probe(io_, smtp(kSrv4, 2526));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP greeting 554, expected 220: 5.3.2 no service here");
    run_until(io_, [&] { return p.accepted() == 1; }, 100ms);
    EXPECT_TRUE(p.commands().empty());
}

TEST_F(SmtpNetns, AHeloRefusedOrAWrongQuitReplyIsDown) {
    Script refuse{{"220 mx\r\n"}};
    refuse.helo_reply = "501 5.5.4 bad HELO\r\n";
    peer(kSrv4, 2527, refuse);
    auto r = run_probe(io_, smtp(kSrv4, 2527));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP 501 to HELO, expected 250: 5.5.4 bad HELO");

    Script quit{{"220 mx\r\n"}};
    quit.quit_reply = "";  // closes without answering QUIT
    peer(kSrv4, 2528, quit);
    auto q = run_probe(io_, smtp(kSrv4, 2528));
    EXPECT_FALSE(q.ok);
    EXPECT_EQ(q.reason, "SMTP: connection closed by the server before the reply to QUIT");
}

TEST_F(SmtpNetns, AServerThatNeverGreetsIsDownAtConnectTimeout) {
    auto& p = peer(kSrv4, 2529, {});
    auto r = run_probe(io_, smtp(kSrv4, 2529, 300ms));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "SMTP: no greeting within 300ms");
    EXPECT_GE(r.latency, 300ms);
    EXPECT_LT(r.latency, 1s);
    EXPECT_EQ(p.accepted(), 1u);
}

TEST_F(SmtpNetns, ARefusedPortIsDownAtOnce) {
    auto r = run_probe(io_, smtp(kSrv4, 2530));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "connect refused");
    EXPECT_LT(r.latency, 500ms);
}

TEST_F(SmtpNetns, PythonSmtpdIsUpAndGoneIsDown) {
    auto server = lab_.spawn("srv", {"/usr/bin/python3", "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer",
                                     "192.0.2.2:2525"});
    auto s = smtp(kSrv4, 2525);
    ProbeResult r;
    ASSERT_TRUE(lt::wait_until([&] { return (r = run_probe(io_, s)).ok; }, 10s)) << r.reason << "\n" << server.output();
    EXPECT_EQ(r.reason, kUp);
    server = {};  // killed: the port is closed
    auto gone = run_probe(io_, s);
    EXPECT_FALSE(gone.ok);
    EXPECT_EQ(gone.reason, "connect refused");
}
