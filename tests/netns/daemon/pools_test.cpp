// Server pools with real health checks (issue #12): real listeners on loopback come and
// go, and the ServicePlane runs each real server's notify_up/notify_down and the
// virtual server's quorum_up/quorum_down at the right transitions, once per virtual
// server even though its group makes two IPVS services. The host kernel has no IPVS, so
// the plane writes to a fake backend that keeps the table the way the kernel would; the
// sorry server's stand-in is checked there.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "daemon/service_plane.hpp"
#include "ipvs/reconcile.hpp"
#include "support/memory_ipvs.hpp"

using namespace lvsd;
using namespace std::chrono_literals;

namespace {

// A TCP listener on 127.0.0.1 that can close and come back on the same port.
class Listener {
public:
    Listener() { open(0); }
    ~Listener() { close(); }
    uint16_t port() const { return port_; }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void open(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
            ADD_FAILURE() << "cannot listen on 127.0.0.1:" << port << ": " << std::strerror(errno);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    void reopen() { open(port_); }
    // Accepts and closes what the checks connected, so that the backlog never fills.
    void drain() {
        if (fd_ < 0) return;
        for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) ::close(c);
    }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

class Pools : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / fmt::format("lvsd-pools-{}", ::getpid());
        std::filesystem::create_directories(dir_);
        log_ = (dir_ / "events").string();
        script_ = (dir_ / "record.sh").string();
        std::ofstream(script_) << "#!/bin/sh\necho \"$*\" >> " << log_ << "\n";
        ::chmod(script_.c_str(), 0755);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<std::string> events() const {
        std::vector<std::string> out;
        std::ifstream in(log_);
        for (std::string l; std::getline(in, l);) out.push_back(l);
        std::sort(out.begin(), out.end());
        return out;
    }

    void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
        const auto end = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < end) {
            io.run_for(20ms);
            for (auto* l : listeners_) l->drain();
        }
    }

    // Runs the loop until `events()` equals `want` (sorted), or 10 s.
    bool run_until(boost::asio::io_context& io, std::vector<std::string> want) {
        std::sort(want.begin(), want.end());
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            run_for(io, 50ms);
            if (events() == want) return true;
        }
        return false;
    }

    std::string config_text(uint16_t p1, uint16_t p2) const {
        const std::string check = "TCP_CHECK = { half_open = false; connect_timeout = 0.5; delay_loop = 0.1; "
                                  "delay_before_retry = 0.1; fall = 1; rise = 1; };";
        return fmt::format(R"(
virtual_server_groups = ( {{ name = "WEB"; entries = [ "192.0.2.10-11 80" ]; }} );
virtual_servers = ( {{
    group = "WEB"; lb_kind = "NAT"; quorum = 3; hysteresis = 1;
    quorum_up = "{0} quorum up"; quorum_down = "{0} quorum down";
    sorry_server = {{ address = "127.0.0.9"; port = 8080; }};
    real_servers = (
        {{ address = "127.0.0.1"; port = {1}; weight = 2; notify_up = "{0} rs1 up"; notify_down = "{0} rs1 down"; {3} }},
        {{ address = "127.0.0.1"; port = {2}; weight = 2; notify_up = "{0} rs2 up"; notify_down = "{0} rs2 down"; {3} }}
    );
}} );
)",
                           script_, p1, p2, check);
    }

    std::filesystem::path dir_;
    std::string log_, script_;
    std::vector<Listener*> listeners_;
};

// What the fake kernel has for one of the group's services: "address:port weight", sorted.
std::vector<std::string> destinations(const ipvs::Table& t, const char* vip) {
    std::vector<std::string> out;
    auto it = t.find(ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address(vip), 80));
    if (it == t.end()) return {"(no service)"};
    for (auto& [key, d] : it->second.destinations)
        out.push_back(fmt::format("{} {}", format_endpoint(key.address, key.port), d.weight));
    return out;
}

}  // namespace

TEST_F(Pools, NotifyAndQuorumCommandsRunAtTheirTransitions) {
    Listener l1, l2;
    listeners_ = {&l1, &l2};
    auto loaded = config::load_string(config_text(l1.port(), l2.port()), "pools.conf");
    ASSERT_TRUE(loaded.ok()) << config::to_string(loaded.diagnostics().front());

    boost::asio::io_context io;
    ipvs::Table kernel;
    daemon::ServicePlane plane(io.get_executor(), std::make_unique<lvsd::testing::MemoryIpvs>(kernel));
    ASSERT_TRUE(plane.apply(loaded.config()));
    const std::string rs1 = fmt::format("127.0.0.1:{} 2", l1.port()), rs2 = fmt::format("127.0.0.1:{} 2", l2.port());
    const std::vector<std::string> both = {std::min(rs1, rs2), std::max(rs1, rs2)};
    const std::vector<std::string> sorry = {"127.0.0.9:8080 1"};

    // Both up from the start: a new service starts in its state, nothing runs.
    run_for(io, 600ms);
    EXPECT_EQ(events(), std::vector<std::string>{});
    EXPECT_EQ(destinations(kernel, "192.0.2.10"), both);
    EXPECT_EQ(destinations(kernel, "192.0.2.11"), both);

    // One goes: 2 of quorum 3 is still within the hysteresis (3 - 1): the quorum holds.
    l1.close();
    ASSERT_TRUE(run_until(io, {"rs1 down"})) << ::testing::PrintToString(events());
    run_for(io, 400ms);
    EXPECT_EQ(events(), std::vector<std::string>{"rs1 down"});
    EXPECT_EQ(destinations(kernel, "192.0.2.10"), std::vector<std::string>{rs2});

    // A reload keeps the quorum's state: judged afresh, 2 < 3 would be down at once.
    auto again = config::load_string(config_text(l1.port(), l2.port()), "pools.conf");
    ASSERT_TRUE(again.ok());
    ASSERT_TRUE(plane.apply(again.config()));
    run_for(io, 300ms);
    EXPECT_EQ(events(), std::vector<std::string>{"rs1 down"});
    EXPECT_EQ(destinations(kernel, "192.0.2.10"), std::vector<std::string>{rs2});

    // Both gone: quorum lost, once for the group; the sorry server replaces them in both services.
    l2.close();
    ASSERT_TRUE(run_until(io, {"rs1 down", "rs2 down", "quorum down"})) << ::testing::PrintToString(events());
    EXPECT_EQ(destinations(kernel, "192.0.2.10"), sorry);
    EXPECT_EQ(destinations(kernel, "192.0.2.11"), sorry);
    EXPECT_NE(render_status_json(plane.status())
                  .find(R"("service":"TCP 192.0.2.11:80","scheduler":"wlc","in_kernel":true,"group":"WEB","quorum":false)"),
              std::string::npos)
        << render_status_json(plane.status());
    EXPECT_NE(plane.status_text().find("TCP 192.0.2.10:80 wlc NAT  (group WEB)  quorum down: sorry server\n"),
              std::string::npos)
        << plane.status_text();

    // One back: 2 is below 3 + 1, the quorum stays down and the sorry server stays.
    l1.reopen();
    ASSERT_TRUE(run_until(io, {"rs1 down", "rs2 down", "quorum down", "rs1 up"})) << ::testing::PrintToString(events());
    run_for(io, 400ms);
    EXPECT_EQ(events().size(), 4u) << ::testing::PrintToString(events());
    EXPECT_EQ(destinations(kernel, "192.0.2.11"), sorry);

    // Both back: 4 reaches 3 + 1, the quorum is gained and the real servers return.
    l2.reopen();
    ASSERT_TRUE(run_until(io, {"rs1 down", "rs2 down", "quorum down", "rs1 up", "rs2 up", "quorum up"}))
        << ::testing::PrintToString(events());
    EXPECT_EQ(destinations(kernel, "192.0.2.10"), both);
    EXPECT_EQ(destinations(kernel, "192.0.2.11"), both);
    EXPECT_NE(render_status_json(plane.status()).find(R"("group":"WEB","quorum":true)"), std::string::npos)
        << render_status_json(plane.status());
    EXPECT_NE(plane.status_text().find("TCP 192.0.2.10:80 wlc NAT  (group WEB)\n"), std::string::npos)
        << plane.status_text();
}
