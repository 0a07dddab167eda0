#include "announce/bird_client.hpp"

#include <array>
#include <cerrno>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

// GCC 12's false positive on Asio's coroutine frames (GCC bug 109224), as in
// healthcheck/probe.cpp: it fires in the ASan build (-O1).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace lvsd::announce {
namespace asio = boost::asio;
using boost::system::error_code;
using local = asio::local::stream_protocol;

namespace {

constexpr auto use = asio::as_tuple(asio::use_awaitable);

// Shared with the deadline's handler, which may run after the coroutine has returned.
struct Session {
    explicit Session(const asio::any_io_executor& ex) : sock(ex) {}
    local::socket sock;
    bool timed_out = false;
    std::string buffer;  // bytes read and not yet consumed
    std::array<char, 16384> chunk;
};

struct Client {
    std::shared_ptr<Session> s;
    const std::string& path;
    std::chrono::milliseconds timeout;

    Error io_error(const error_code& ec, std::string_view doing) const {
        if (s->timed_out)
            return make_error(ETIMEDOUT, "BIRD control socket {}: no answer within {} ms ({})", path,
                              timeout.count(), doing);
        if (ec == asio::error::eof)
            return make_error(EPROTO, "BIRD control socket {}: closed by BIRD ({})", path, doing);
        return make_error(ec.value(), "BIRD control socket {}: {} ({})", path, ec.message(), doing);
    }

    // Reads the next complete reply.
    asio::awaitable<Result<BirdReply>> reply(std::string_view doing) {
        for (;;) {
            auto end = find_reply_end(s->buffer);
            if (!end) co_return make_error(EPROTO, "BIRD control socket {}: {} ({})", path, end.error().message, doing);
            if (*end) {
                auto r = parse_reply(std::string_view(s->buffer).substr(0, **end));
                s->buffer.erase(0, **end);
                if (!r) co_return make_error(EPROTO, "BIRD control socket {}: {} ({})", path, r.error().message, doing);
                co_return std::move(*r);
            }
            auto [ec, n] = co_await s->sock.async_read_some(asio::buffer(s->chunk), use);
            if (ec) co_return io_error(ec, doing);
            s->buffer.append(s->chunk.data(), n);
        }
    }

    asio::awaitable<Result<BirdReply>> command(const std::string& cmd) {
        std::string line = cmd + "\n";
        auto [ec, n] = co_await asio::async_write(s->sock, asio::buffer(line), use);
        (void)n;
        if (ec) co_return io_error(ec, cmd);
        co_return co_await reply(cmd);
    }
};

Error bird_refused(const std::string& path, const std::string& cmd, const BirdReply& r) {
    return make_error(EREMOTEIO, "BIRD control socket {}: '{}' failed: {}", path, cmd, r.error_text());
}

asio::awaitable<Result<BirdView>> exchange(Client& c) {
    BirdView view;
    auto greeting = co_await c.reply("greeting");
    if (!greeting) co_return greeting.error();
    auto version = parse_greeting(*greeting);
    if (!version) co_return make_error(EPROTO, "BIRD control socket {}: {}", c.path, version.error().message);
    view.version = std::move(*version);

    auto protocols = co_await c.command("show protocols");
    if (!protocols) co_return protocols.error();
    if (protocols->failed()) co_return bird_refused(c.path, "show protocols", *protocols);
    auto parsed = parse_protocols(*protocols);
    if (!parsed) co_return make_error(EPROTO, "BIRD control socket {}: {}", c.path, parsed.error().message);
    view.protocols = std::move(*parsed);

    for (const auto& p : view.protocols) {
        if (p.proto != "BGP" || !p.up()) continue;
        const std::string cmd = "show route export " + p.name;
        auto routes = co_await c.command(cmd);
        if (!routes) co_return routes.error();
        // The session went down between the two commands: its channel has no table now.
        if (routes->failed() && routes->lines.back().text == "No valid tables") continue;
        if (routes->failed()) co_return bird_refused(c.path, cmd, *routes);
        auto list = parse_routes(*routes);
        if (!list) co_return make_error(EPROTO, "BIRD control socket {}: {}", c.path, list.error().message);
        auto& nets = view.exported[p.name];
        for (const auto& r : *list) nets.push_back(r.network);
    }

    bool has_bfd = false;
    for (const auto& p : view.protocols) has_bfd = has_bfd || p.proto == "BFD";
    if (has_bfd) {
        auto bfd = co_await c.command("show bfd sessions");
        if (!bfd) co_return bfd.error();
        if (bfd->failed()) co_return bird_refused(c.path, "show bfd sessions", *bfd);
        auto sessions = parse_bfd_sessions(*bfd);
        if (!sessions) co_return make_error(EPROTO, "BIRD control socket {}: {}", c.path, sessions.error().message);
        view.bfd = std::move(*sessions);
    }
    co_return view;
}

}  // namespace

asio::awaitable<Result<BirdView>> read_bird_view(std::string socket_path, std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    auto s = std::make_shared<Session>(ex);
    // The deadline closes the socket, which ends whatever read or write is pending.
    asio::steady_timer timer(ex, timeout);
    timer.async_wait([s](const error_code& ec) {
        if (ec) return;
        s->timed_out = true;
        error_code ignored;
        s->sock.close(ignored);
    });
    Client c{s, socket_path, timeout};
    Result<BirdView> result = make_error(0, "");
    auto [ec] = co_await s->sock.async_connect(local::endpoint(socket_path), use);
    if (ec) {
        result = c.io_error(ec, "connect");
        if (ec.value() == ENOENT)
            result = make_error(ENOENT, "BIRD control socket {}: no such socket (is BIRD running? "
                                        "global_defs bird_socket names it)", socket_path);
        else if (ec.value() == EACCES)
            result = make_error(EACCES, "BIRD control socket {}: permission denied (the socket is "
                                        "root:bird 0660; run lvsd as root or in group bird)", socket_path);
        else if (ec.value() == ECONNREFUSED)
            result = make_error(ECONNREFUSED, "BIRD control socket {}: connection refused (BIRD is "
                                              "not running; the file is left over)", socket_path);
    } else {
        result = co_await exchange(c);
    }
    timer.cancel();
    error_code ignored;
    s->sock.close(ignored);
    co_return result;
}

}  // namespace lvsd::announce
