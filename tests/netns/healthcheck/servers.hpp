// Real peers for the probe tests, served by the test's own io_context: a listener
// that answers with canned bytes, one that accepts and never answers, one that
// accepts and closes at once. Each records the source address of what it accepted.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "healthcheck/probe.hpp"
#include "support/netns_lab.hpp"

namespace lvsd::hctest {

namespace asio = boost::asio;
using asio::ip::tcp;

enum class Behavior {
    Respond,       // read the request head, write `response` (or set_pieces' pieces), close
    Silent,        // accept and keep the connection open, never write
    CloseAtOnce,   // accept and close
};

class TestServer {
public:
    TestServer(asio::io_context& io, const tcp::endpoint& at, Behavior behavior,
               std::string response = {})
        : state_(std::make_shared<State>(io, at, behavior, std::move(response))) {
        asio::co_spawn(io, accept_loop(state_), asio::detached);
    }
    ~TestServer() { close(); }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    uint16_t port() const { return state_->port; }
    tcp::endpoint endpoint() const { return {state_->address, state_->port}; }
    std::size_t accepted() const { return state_->accepted; }
    const std::vector<std::string>& requests() const { return state_->requests; }
    const std::vector<asio::ip::address>& peers() const { return state_->peers; }
    void set_response(std::string r) { state_->response = std::move(r); }
    // Respond writes these instead of `response`, one write each, `gap` apart (a server
    // that sends `100 Continue` and thinks before its final response; a slow one).
    void set_pieces(std::vector<std::string> pieces, std::chrono::milliseconds gap) {
        state_->pieces = std::move(pieces);
        state_->gap = gap;
    }
    // Closes the connections a Silent server holds, and keeps listening.
    void drop_connections() {
        boost::system::error_code ec;
        for (auto& s : state_->held) s->close(ec);
        state_->held.clear();
    }
    void close() {
        boost::system::error_code ec;
        state_->acceptor.close(ec);
        drop_connections();
    }

private:
    struct State {
        State(asio::io_context& io, const tcp::endpoint& at, Behavior b, std::string r)
            : acceptor(io, at), behavior(b), response(std::move(r)) {
            address = acceptor.local_endpoint().address();
            port = acceptor.local_endpoint().port();
        }
        tcp::acceptor acceptor;
        Behavior behavior;
        std::string response;
        asio::ip::address address;
        uint16_t port = 0;
        std::size_t accepted = 0;
        std::vector<std::string> requests;
        std::vector<asio::ip::address> peers;
        std::vector<std::shared_ptr<tcp::socket>> held;
        std::vector<std::string> pieces;
        std::chrono::milliseconds gap{0};
    };

    static asio::awaitable<void> answer(std::shared_ptr<State> st, std::shared_ptr<tcp::socket> s) {
        asio::streambuf buf;
        auto [ec, n] = co_await asio::async_read_until(*s, buf, "\r\n\r\n",
                                                       asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        st->requests.emplace_back(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
        if (st->pieces.empty()) {
            co_await asio::async_write(*s, asio::buffer(st->response), asio::as_tuple(asio::use_awaitable));
        } else {
            const auto pieces = st->pieces;  // set_pieces may change them meanwhile
            asio::steady_timer pause(s->get_executor());
            for (std::size_t i = 0; i < pieces.size(); ++i) {
                if (i > 0) {
                    pause.expires_after(st->gap);
                    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                }
                auto [wec, wn] = co_await asio::async_write(*s, asio::buffer(pieces[i]),
                                                            asio::as_tuple(asio::use_awaitable));
                if (wec) break;  // the check has its verdict and closed
            }
        }
        boost::system::error_code ignored;
        s->shutdown(tcp::socket::shutdown_send, ignored);
        s->close(ignored);
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<State> st) {
        for (;;) {
            auto s = std::make_shared<tcp::socket>(st->acceptor.get_executor());
            tcp::endpoint peer;  // from accept itself: a TCP check's RST may come first
            auto [ec] = co_await st->acceptor.async_accept(*s, peer, asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
            if (ec) continue;
            ++st->accepted;
            boost::system::error_code pec;
            st->peers.push_back(peer.address());
            switch (st->behavior) {
                case Behavior::Respond:
                    asio::co_spawn(st->acceptor.get_executor(), answer(st, s), asio::detached);
                    break;
                case Behavior::Silent: st->held.push_back(s); break;
                case Behavior::CloseAtOnce: s->close(pec); break;
            }
        }
    }

    std::shared_ptr<State> state_;
};

// A port on `addr` where nothing listens (bound, then released).
inline uint16_t closed_port(asio::io_context& io, const asio::ip::address& addr) {
    tcp::acceptor a(io, tcp::endpoint(addr, 0));
    return a.local_endpoint().port();
}

// A check of `type` on a:port with the given timeout; a TCP check probes `method`.
inline healthcheck::CheckSpec spec_for(healthcheck::CheckType type, const IpAddress& a, uint16_t port,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(2),
                                       healthcheck::TcpMethod method = healthcheck::TcpMethod::HalfOpen) {
    healthcheck::CheckSpec s;
    s.type = type;
    if (type == healthcheck::CheckType::Tcp) s.tcp_method = method;
    s.address = a;
    s.port = port;
    s.connect_timeout = timeout;
    return s;
}

// Runs one probe to completion on `io` and returns its result.
inline healthcheck::ProbeResult run_probe(asio::io_context& io, const healthcheck::CheckSpec& spec) {
    std::optional<healthcheck::ProbeResult> out;
    io.restart();  // a previous probe may have left it out of work, hence stopped
    asio::co_spawn(io, healthcheck::probe(spec), [&](std::exception_ptr e, healthcheck::ProbeResult r) {
        if (e) std::rethrow_exception(e);
        out = std::move(r);
    });
    while (!out) io.run_one();
    return *out;
}

// Runs `io` until `done` or until `limit` has passed; returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_until(deadline);
    return done();
}

inline std::size_t open_fds() {
    std::size_t n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

inline std::string http_response(int status, std::string_view body = "ok") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + std::string(body);
}

// The calling thread in a lab's namespace for the object's lifetime (support/netns_lab.hpp).
using InNetns = lvsd::testing::InNamespace;

}  // namespace lvsd::hctest
