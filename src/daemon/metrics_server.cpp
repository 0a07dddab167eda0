// The metrics HTTP server. The only translation unit that includes Boost.Beast: its
// request parser reads the request head (with its header and body limits), and its
// response type and serializer write the answer; Asio carries the bytes, with a deadline
// for each direction.
#include "daemon/metrics_server.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

// GCC 12's false positive on Asio's coroutine frames (GCC bug 109224), as in
// healthcheck/probe.cpp.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace lvsd::daemon {

// ---- Request and response ----------------------------------------------------------

namespace {

// Only the head is ever read: a request with a body is refused (body_limit 0), so the
// parser needs no body storage.
using Parser = http::request_parser<http::empty_body>;

// Beast's parser wants CRLF line ends; RFC 9112 §2.2 lets a server accept a bare LF. The
// bytes are fed to it with each bare LF made CRLF, piece by piece as they arrive (a CR
// that ends one piece and the LF that starts the next are one line end).
class CrLf {
public:
    void append(std::string& out, std::string_view in) {
        for (char c : in) {
            if (c == '\n' && !cr_) out += '\r';
            out += c;
            cr_ = c == '\r';
        }
    }

private:
    bool cr_ = false;
};

// The head cap counts the bytes as they came (the server stops reading there). Beast's
// own header limit counts them with CRs added, at most twice as many: it is set so that
// it never cuts a head the cap lets through.
void set_limits(Parser& p, std::size_t max_head) {
    p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(2 * max_head + 2, UINT32_MAX)));
    p.body_limit(0);
}

// What a parser that has stopped (with `ec`) makes of the request.
HttpRequest classify(const Parser& p, boost::system::error_code ec) {
    const HttpRequest bad{400, false};
    if (ec == http::error::header_limit) return {431, false};
    // Content-Length above the body limit: reported once the header is complete.
    if (ec == http::error::body_limit) return {413, p.get().method() == http::verb::head};
    // Beast checks the request line (method token, HTTP/1.0 or 1.1) and every field line.
    if (ec || !p.is_header_done()) return bad;
    const auto& req = p.get();
    const bool head_only = req.method() == http::verb::head;
    if (p.chunked() || p.content_length().value_or(0) > 0) return {413, head_only};

    std::string_view target(req.target().data(), req.target().size());
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f) return bad;
    // absolute-form (RFC 9112 §3.2.2), which a server must accept: keep the path.
    if (target.starts_with("http://") || target.starts_with("https://")) {
        auto scheme_end = target.find("//") + 2;
        auto slash = target.find('/', scheme_end);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (!target.starts_with('/')) return bad;

    std::string_view path = target.substr(0, target.find_first_of("?#"));
    if (path != "/metrics") return {404, head_only};
    if (req.method() != http::verb::get && !head_only) return {405, false};
    return {200, head_only};
}

template <class Body>
std::string serialize(http::response<Body>& res) {
    http::response_serializer<Body> sr(res);
    std::string out;
    boost::system::error_code ec;
    do {
        sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
            for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
                asio::const_buffer b = *it;
                out.append(static_cast<const char*>(b.data()), b.size());
            }
            sr.consume(asio::buffer_size(buffers));
        });
    } while (!ec && !sr.is_done());
    return out;
}

}  // namespace

HttpRequest classify_request(std::string_view head) {
    Parser p;
    set_limits(p, std::max(head.size(), kMaxRequestHead));
    std::string in;
    CrLf().append(in, head);
    boost::system::error_code ec;
    p.put(asio::buffer(in), ec);
    return classify(p, ec);
}

std::string http_response(unsigned status, std::string_view content_type, std::string_view body, bool head) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(status);
    res.set(http::field::content_type, content_type);
    res.content_length(body.size());
    if (status == 405) res.set(http::field::allow, "GET, HEAD");
    res.keep_alive(false);
    if (!head) res.body().assign(body);
    return serialize(res);
}

// ---- Server ------------------------------------------------------------------------

using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::chrono::milliseconds kLinger{1000};
constexpr std::size_t kLingerBytes = 64 << 10;
constexpr std::string_view kPlain = "text/plain; charset=utf-8";

}  // namespace

struct MetricsServer::Impl {
    Impl(asio::any_io_executor ex, const config::Endpoint& ep, Collect c, MetricsLimits l, HttpMetrics h)
        : acceptor(ex), endpoint(ep), collect(std::move(c)), limits(l), http(std::move(h)) {
        http.open_connections = 0;
    }

    void reject(HttpReject why, const tcp::endpoint& peer) {
        ++http.rejected[static_cast<std::size_t>(why)];
        // Debug only: a scanner must not be able to flood the journal.
        spdlog::debug("metrics {}: {} from {}", format_endpoint(endpoint.address, endpoint.port), to_string(why),
                      format_endpoint(peer.address(), peer.port()));
    }

    // The whole response to a request the parser has stopped on, counted.
    std::string answer(HttpRequest req, const tcp::endpoint& peer) {
        std::string out;
        switch (req.status) {
            case 200:
                try {
                    out = http_response(200, kMetricsContentType, collect(http), req.head);
                } catch (const std::exception& e) {
                    spdlog::error("metrics: cannot render: {}", e.what());
                    req.status = 500;
                    out = http_response(500, kPlain, "internal error\n");
                }
                break;
            case 431:
                reject(HttpReject::HeaderTooLarge, peer);
                out = http_response(431, kPlain, fmt::format("request head larger than {} bytes\n",
                                                             limits.max_request_head));
                break;
            case 413:
                reject(HttpReject::BodyTooLarge, peer);
                out = http_response(413, kPlain, "a request to this endpoint has no body\n", req.head);
                break;
            case 404: out = http_response(404, kPlain, "not found; metrics are at /metrics\n", req.head); break;
            case 405: out = http_response(405, kPlain, "only GET and HEAD\n", req.head); break;
            default:
                reject(HttpReject::Malformed, peer);
                req.status = 400;
                out = http_response(400, kPlain, "bad request\n", req.head);
        }
        ++http.responses[req.status];
        return out;
    }

    // Coroutines take the Impl by shared_ptr: the frame keeps it alive, whatever
    // happens to the MetricsServer that started them.
    static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
        asio::steady_timer backoff(self->acceptor.get_executor());
        for (;;) {
            auto [ec, socket] = co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (self->stopped) co_return;
            if (ec) {
                // Out of file descriptors or memory: the pending connection stays in the
                // backlog, so accepting again at once would spin. Wait a little.
                spdlog::debug("metrics: accept failed: {}", ec.message());
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
                if (self->stopped) co_return;
                continue;
            }
            boost::system::error_code ignored;
            auto peer = socket.remote_endpoint(ignored);
            if (self->http.open_connections >= self->limits.max_connections) {
                self->reject(HttpReject::ConnectionLimit, peer);
                // A best-effort 503 without waiting: the client learns why, and a flood
                // costs one non-blocking send per connection.
                socket.non_blocking(true, ignored);
                auto busy = http_response(503, kPlain, "too many connections\n");
                socket.write_some(asio::buffer(busy), ignored);
                ++self->http.responses[503];
                socket.close(ignored);
                continue;
            }
            asio::co_spawn(self->acceptor.get_executor(), serve(self, std::move(socket), peer), asio::detached);
        }
    }

    static asio::awaitable<void> serve(std::shared_ptr<Impl> self, tcp::socket socket, tcp::endpoint peer) {
        // Registered so that stop() can close it; unregistered however this returns.
        struct Open {
            Impl& impl;
            tcp::socket* socket;
            Open(Impl& i, tcp::socket* s) : impl(i), socket(s) {
                impl.sockets.insert(socket);
                ++impl.http.open_connections;
            }
            ~Open() {
                impl.sockets.erase(socket);
                --impl.http.open_connections;
            }
        } open(*self, &socket);

        const auto& limits = self->limits;
        asio::steady_timer deadline(socket.get_executor());
        Parser parser;
        set_limits(parser, limits.max_request_head);
        CrLf crlf;
        std::string pending;  // line ends made CRLF, not yet taken by the parser
        std::size_t received = 0;
        std::array<char, 4096> buf;
        boost::system::error_code parsed = http::error::need_more;
        // One deadline for the whole head, however it trickles in (slowloris).
        deadline.expires_after(limits.read_timeout);
        while (parsed == http::error::need_more) {
            // The cap: no more than max_request_head bytes are read for a head.
            if (received >= limits.max_request_head) {
                parsed = http::error::header_limit;
                break;
            }
            const auto want = std::min(buf.size(), limits.max_request_head - received);
            auto read = co_await (socket.async_read_some(asio::buffer(buf.data(), want),
                                                         asio::as_tuple(asio::use_awaitable)) ||
                                  deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (self->stopped) co_return;
            if (read.index() == 1) {
                self->reject(HttpReject::ReadTimeout, peer);
                co_return;
            }
            auto [ec, n] = std::get<0>(read);
            if (ec) {
                // Gone before the head was complete; a half-sent request counts as malformed.
                if (received > 0) self->reject(HttpReject::Malformed, peer);
                co_return;
            }
            received += n;
            crlf.append(pending, std::string_view(buf.data(), n));
            pending.erase(0, parser.put(asio::buffer(pending), parsed));
        }
        std::string out = self->answer(classify(parser, parsed), peer);

        deadline.expires_after(limits.write_timeout);
        auto wrote = co_await (asio::async_write(socket, asio::buffer(out), asio::as_tuple(asio::use_awaitable)) ||
                               deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (self->stopped) co_return;
        if (wrote.index() == 1) {
            self->reject(HttpReject::WriteTimeout, peer);
            co_return;
        }
        // Lingering close (RFC 9112 §9.6): closing with unread request bytes would send
        // a reset that can destroy the response before the client reads it (a 431 is
        // sent with most of an oversized head unread, a 413 with its body). So: end our
        // side, then take what the client still sends until it closes, briefly and boundedly.
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        deadline.expires_after(kLinger);
        std::string sink;
        co_await (asio::async_read(socket, asio::dynamic_buffer(sink, kLingerBytes),
                                   asio::as_tuple(asio::use_awaitable)) ||
                  deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        boost::system::error_code ignored;
        acceptor.close(ignored);
        for (auto* s : sockets) s->close(ignored);
    }

    tcp::acceptor acceptor;
    config::Endpoint endpoint;
    Collect collect;
    MetricsLimits limits;
    HttpMetrics http;
    std::set<tcp::socket*> sockets;
    bool stopped = false;
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(asio::any_io_executor executor,
                                                            const config::Endpoint& endpoint, Collect collect,
                                                            MetricsLimits limits, HttpMetrics carried) {
    auto impl = std::make_shared<Impl>(executor, endpoint, std::move(collect), limits, std::move(carried));
    const tcp::endpoint ep(endpoint.address, endpoint.port);
    boost::system::error_code ec;
    impl->acceptor.open(ep.protocol(), ec);
    if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl->acceptor.bind(ep, ec);
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        namespace errc = boost::system::errc;
        const char* hint = ec == errc::address_not_available ? " (not an address of this host)"
                           : ec == errc::address_in_use     ? " (another process listens there)"
                           : ec == errc::permission_denied  ? " (ports below 1024 need CAP_NET_BIND_SERVICE)"
                                                            : "";
        return make_error(ec.value(), "cannot listen on {}: {}{}", format_endpoint(endpoint.address, endpoint.port),
                          ec.message(), hint);
    }
    asio::co_spawn(executor, Impl::accept_loop(impl), asio::detached);
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
    if (impl_) impl_->stop();
}

const config::Endpoint& MetricsServer::endpoint() const { return impl_->endpoint; }

HttpMetrics MetricsServer::http() const { return impl_->http; }

}  // namespace lvsd::daemon
