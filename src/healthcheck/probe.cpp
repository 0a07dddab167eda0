#include "healthcheck/probe.hpp"

#include <array>
#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <random>
#include <memory>

#include "healthcheck/detail/smtp_exchange.hpp"
#include "healthcheck/detail/syn_prober.hpp"
#include "healthcheck/detail/tls_client.hpp"
#include "healthcheck/dns.hpp"
#include "healthcheck/http.hpp"

// GCC 12 reports Asio's coroutine frame operator new/delete pair as mismatched once
// it inlines one coroutine into another (GCC bug 109224, a false positive).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace lvsd::healthcheck {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

enum class Phase { Connecting, Sending, Receiving };

// Failures of this host rather than of the real server.
bool is_local_shortage(const error_code& ec) {
    namespace e = asio::error;
    return ec == e::no_descriptors /* EMFILE */ || ec == error_code(ENFILE, boost::system::system_category()) ||
           ec == e::no_buffer_space || ec == e::no_memory ||
           ec == error_code(EADDRNOTAVAIL, boost::system::system_category()) /* no source port left */;
}

std::string connect_failure(const error_code& ec) {
    namespace e = asio::error;
    if (ec == e::connection_refused) return "connect refused";
    if (ec == e::host_unreachable) return "host unreachable";
    if (ec == e::network_unreachable) return "network unreachable";
    if (ec == e::connection_reset) return "connection reset while connecting";
    return fmt::format("connect failed: {}", ec.message());
}

std::string io_failure(const error_code& ec, Phase phase) {
    const char* what = phase == Phase::Sending ? "sending the request" : "reading the response";
    if (ec == asio::error::eof) return fmt::format("connection closed by the server while {}", what);
    if (ec == asio::error::connection_reset)
        return fmt::format("connection reset by the server while {}", what);
    return fmt::format("error while {}: {}", what, ec.message());
}

// The HTTP part, on a connected socket; a coroutine of its own so that its buffer
// is no part of the frame of every TCP check.
template <class Stream>
asio::awaitable<ProbeResult> http_exchange(Stream& sock, const CheckSpec& spec, Phase& phase) {
    std::string request;
    std::string prefix;  // names what was fetched in the reasons of the proxy check
    if (spec.type == CheckType::Http || spec.type == CheckType::Ssl) {
        const auto host = spec.virtualhost.empty() ? format_endpoint(spec.address, spec.effective_port())
                                                   : spec.virtualhost;
        request = build_get_request(spec.path, host);
    } else {
        auto url = parse_http_url(spec.proxy_url);
        if (!url) co_return ProbeResult{false, url.error().message};
        request = build_get_request(url->target,
                                    spec.virtualhost.empty() ? url->authority : spec.virtualhost);
        prefix = fmt::format("proxy fetching {}: ", spec.proxy_url);
    }

    phase = Phase::Sending;
    if (auto [ec, n] = co_await asio::async_write(sock, asio::buffer(request), kNoThrow); ec)
        co_return ProbeResult{false, prefix + io_failure(ec, phase)};

    phase = Phase::Receiving;
    ResponseReader reader(spec.body_contains, ResponseReader::kMaxBodyScan, !spec.digest.empty());
    std::array<char, 4096> buf;  // bounded: the reader keeps only what the verdict needs
    for (;;) {
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), kNoThrow);
        ResponseReader::Progress p;
        // A TLS peer that closes without close_notify ends the body as a FIN does.
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
            p = reader.finish();
        } else if (ec) {
            co_return ProbeResult{false, prefix + io_failure(ec, phase)};
        } else {
            p = reader.feed(std::string_view(buf.data(), n));
        }
        if (p == ResponseReader::Progress::Malformed)
            co_return ProbeResult{false, prefix + "HTTP: " + reader.error()};
        // A wrong status is the verdict: the rest of the response does not matter.
        if (reader.has_status() && !status_matches(spec.status_code, reader.status()))
            co_return ProbeResult{false, fmt::format("{}HTTP {}, expected {}", prefix, reader.status(),
                                                     status_codes_text(spec.status_code))};
        if (p == ResponseReader::Progress::Complete) break;
    }
    if (!spec.body_contains.empty() && !reader.body_found() && reader.scan_limit_reached()) {
        static_assert(ResponseReader::kMaxBodyScan == 1024 * 1024, "the reason says 1 MiB");
        co_return ProbeResult{false, fmt::format("{}HTTP {} but the body's first 1 MiB lacks {:?} (body_contains "
                                                 "searches no further)",
                                                 prefix, reader.status(), spec.body_contains)};
    }
    if (!spec.body_contains.empty() && !reader.body_found())
        co_return ProbeResult{false, fmt::format("{}HTTP {} but the body lacks {:?}", prefix,
                                                 reader.status(), spec.body_contains)};
    if (!spec.digest.empty()) {
        // keepalived's genhash: the MD5 of the whole body.
        const auto md5 = reader.body_md5();
        if (md5 != spec.digest)
            co_return ProbeResult{false, fmt::format("{}HTTP {} but the body's MD5 is {}, expected {}", prefix,
                                                     reader.status(), md5.empty() ? "unknown" : md5, spec.digest)};
    }
    co_return ProbeResult{true, fmt::format("{}HTTP {}", prefix, reader.status())};
}

// SSL_GET: the handshake (SNI, and the certificate when asked), then HTTP_GET over it.
// The watchdog's close of the socket ends a hung handshake like any other phase.
asio::awaitable<ProbeResult> tls_exchange(tcp::socket& sock, const CheckSpec& spec, Phase& phase) {
    auto ctx = detail::tls_context(spec);
    if (!ctx) co_return ProbeResult{false, ctx.error().message};
    asio::ssl::stream<tcp::socket&> tls(sock, **ctx);
    // Without ssl_verify, a session from an earlier check is offered (never with it:
    // every verified check judges the certificate afresh).
    const std::string target = spec.ssl_verify ? std::string() : detail::session_target(spec);
    if (!spec.ssl_verify) {
        if (const detail::SessionPtr* kept = detail::tls_sessions().offer(target, Clock::now()))
            SSL_set_session(tls.native_handle(), kept->get());  // a refused one means a full handshake
    }
    const bool name_given = !spec.virtualhost.empty() && !parse_address(spec.virtualhost);
    // RFC 6066 section 3: SNI carries host names only, never address literals.
    if (name_given && SSL_set_tlsext_host_name(tls.native_handle(), spec.virtualhost.c_str()) != 1)
        co_return ProbeResult{false, fmt::format("TLS: cannot set SNI {}", spec.virtualhost)};
    if (spec.ssl_verify)
        tls.set_verify_callback(asio::ssl::host_name_verification(
            spec.virtualhost.empty() ? spec.address.to_string() : spec.virtualhost));
    phase = Phase::Sending;
    if (auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kNoThrow); ec) {
        const long verify = SSL_get_verify_result(tls.native_handle());
        if (spec.ssl_verify && verify != X509_V_OK)
            co_return ProbeResult{false, fmt::format("TLS certificate rejected: {}", X509_verify_cert_error_string(verify))};
        std::string why = ec.message();
        if (ec.category() == asio::error::get_ssl_category()) {
            char buf[256];
            ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
            why = buf;
        }
        if (!spec.ssl_verify) detail::tls_sessions().drop(target);
        co_return ProbeResult{false, fmt::format("TLS handshake failed: {}", why)};
    }
    auto result = co_await http_exchange(tls, spec, phase);
    if (!spec.ssl_verify) {
        // The session as the connection left it: with TLS 1.3 the tickets the server sent
        // after the handshake, which came in before the response.
        detail::SessionPtr session(SSL_get1_session(tls.native_handle()));
        // OpenSSL marks the session of a connection freed without a shutdown as not
        // resumable. The response is complete, so the connection ends as keepalived ends
        // it: a quiet shutdown, no close_notify sent (RFC 5246 section 7.2.1 lets a
        // session outlive a connection that was not closed with one).
        if (result.ok) {
            SSL_set_quiet_shutdown(tls.native_handle(), 1);
            SSL_shutdown(tls.native_handle());
        }
        if (result.ok && session && SSL_SESSION_is_resumable(session.get()))
            detail::tls_sessions().keep(target, std::move(session),
                                        SSL_session_reused(tls.native_handle()) == 1, Clock::now());
        else
            detail::tls_sessions().drop(target);
    }
    co_return result;
}

// The exchange itself; the caller bounds it with the timeout.
asio::awaitable<ProbeResult> exchange(tcp::socket& sock, const CheckSpec& spec, Phase& phase, std::string& smtp_waiting) {
    phase = Phase::Connecting;
    const tcp::endpoint ep(spec.address, spec.effective_port());
    if (auto [ec] = co_await sock.async_connect(ep, kNoThrow); ec) {
        ProbeResult r{false, connect_failure(ec)};
        r.inconclusive = is_local_shortage(ec);
        co_return r;
    }
    if (spec.type == CheckType::Tcp) co_return ProbeResult{true, "connected"};
    if (spec.type == CheckType::Ssl) co_return co_await tls_exchange(sock, spec, phase);
    if (spec.type == CheckType::Smtp) {
        phase = Phase::Receiving;
        co_return co_await detail::smtp_exchange(sock, spec, smtp_waiting);
    }
    co_return co_await http_exchange(sock, spec, phase);
}

}  // namespace

// MISC_CHECK: one run of the command (the monitor never starts a second while one is
// in flight), its process group killed at connect_timeout (misc_timeout).
asio::awaitable<ProbeResult> misc_probe(const CheckSpec& spec) {
    const auto start = Clock::now();
    const auto e = co_await run_process(spec.misc_argv, spec.misc_user, spec.connect_timeout);
    ProbeResult r;
    switch (e.how) {
        case ProcessExit::How::Exited: {
            const auto v = misc_verdict(e.code, spec.misc_dynamic);
            r.ok = v.ok;
            r.weight = v.weight;
            r.reason = v.weight ? fmt::format("exit {}: weight {}", e.code, *v.weight) : fmt::format("exit {}", e.code);
            break;
        }
        case ProcessExit::How::Signaled: r.reason = fmt::format("killed by signal {}", e.code); break;
        case ProcessExit::How::TimedOut:
            r.reason = fmt::format("killed after misc_timeout {}ms", spec.connect_timeout.count());
            break;
        case ProcessExit::How::NotStarted:
            r.reason = e.error;
            // No process to be had (EAGAIN, ENOMEM, EMFILE) says nothing about the server.
            r.inconclusive = e.code == EAGAIN || e.code == ENOMEM || e.code == EMFILE || e.code == ENFILE;
            break;
    }
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    co_return r;
}

// UDP_CHECK and DNS_CHECK: one datagram on a connected UDP socket, so that the kernel
// reports an ICMP port unreachable for it as ECONNREFUSED on the next receive. A
// watchdog closes the socket at connect_timeout, as for the TCP probes.
asio::awaitable<ProbeResult> datagram_probe(const CheckSpec& spec) {
    using asio::ip::udp;
    auto ex = co_await asio::this_coro::executor;
    const auto start = Clock::now();
    auto finish = [&](ProbeResult r) {
        r.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
        return r;
    };
    std::string payload = spec.udp_payload;
    uint16_t id = 0, type = 0;
    if (spec.type == CheckType::Dns) {
        // RFC 5452 section 9.2: an unpredictable id (a spoofed answer must guess it).
        std::random_device rd;
        id = static_cast<uint16_t>(rd());
        type = dns_type(spec.dns_type).value_or(0);
        auto q = dns_query(spec.dns_name, type, id);
        if (!q) co_return finish({false, q.error().message});
        payload = std::move(*q);
    }
    struct Guarded {
        explicit Guarded(const asio::any_io_executor& e) : sock(e) {}
        udp::socket sock;
        bool fired = false;
    };
    auto g = std::make_shared<Guarded>(ex);
    const udp::endpoint ep(spec.address, spec.effective_port());
    error_code ec;
    if (g->sock.open(ep.protocol(), ec); ec) {
        ProbeResult r{false, fmt::format("cannot open a socket: {}", ec.message())};
        r.inconclusive = is_local_shortage(ec);
        co_return finish(std::move(r));
    }
    if (spec.bindto) g->sock.bind(udp::endpoint(*spec.bindto, 0), ec);
    if (!ec) g->sock.connect(ep, ec);
    if (ec) {
        ProbeResult r{false, connect_failure(ec)};
        r.inconclusive = is_local_shortage(ec);
        co_return finish(std::move(r));
    }
    asio::steady_timer timer(ex, spec.connect_timeout);
    timer.async_wait([g](const error_code& tec) {
        if (tec) return;
        g->fired = true;
        error_code ignored;
        g->sock.close(ignored);
    });
    ProbeResult result;
    if (auto [sec, n] = co_await g->sock.async_send(asio::buffer(payload), kNoThrow); sec) {
        result = {false, sec == asio::error::connection_refused ? "port unreachable (ICMP)" : connect_failure(sec)};
    } else {
        std::array<char, 4096> buf;
        for (;;) {
            auto [rec, got] = co_await g->sock.async_receive(asio::buffer(buf), kNoThrow);
            if (g->fired) {
                const bool need_reply = spec.type == CheckType::Dns || spec.require_reply;
                result = need_reply ? ProbeResult{false, fmt::format("no reply within {}ms", spec.connect_timeout.count())}
                                    : ProbeResult{true, fmt::format("no ICMP error within {}ms", spec.connect_timeout.count())};
                break;
            }
            if (rec == asio::error::connection_refused) {
                result = {false, "port unreachable (ICMP)"};
                break;
            }
            if (rec) {
                result = {false, rec == asio::error::host_unreachable || rec == asio::error::network_unreachable
                                     ? connect_failure(rec)
                                     : fmt::format("receive failed: {}", rec.message())};
                break;
            }
            if (spec.type == CheckType::Udp) {
                result = {true, fmt::format("reply of {} byte{}", got, got == 1 ? "" : "s")};
                break;
            }
            // Not the answer to this query (a late one to an earlier probe): wait on.
            auto v = dns_judge(std::string_view(buf.data(), got), type, id);
            if (!v.matches) continue;
            result = {v.ok, std::move(v.reason)};
            break;
        }
    }
    timer.cancel();
    if (g->sock.is_open()) g->sock.close(ec);
    co_return finish(std::move(result));
}

asio::awaitable<ProbeResult> probe(const CheckSpec& spec) {
    auto ex = co_await asio::this_coro::executor;
    if (spec.type == CheckType::Misc) co_return co_await misc_probe(spec);
    if (spec.type == CheckType::Udp || spec.type == CheckType::Dns) co_return co_await datagram_probe(spec);
    if (spec.type == CheckType::Tcp && spec.tcp_method == TcpMethod::HalfOpen) {
        auto& half_open = asio::use_service<detail::SynProber>(asio::query(ex, asio::execution::context));
        if (half_open.usable(ex, family_of(spec.address)))
            co_return co_await half_open.async_probe(spec, asio::use_awaitable);
    }
    const auto start = Clock::now();
    auto finish = [&](ProbeResult r) {
        r.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
        return r;
    };

    // The socket is shared with the watchdog below, whose handler may run after this
    // frame is gone (a cancelled wait still completes).
    struct Guarded {
        explicit Guarded(const asio::any_io_executor& e) : sock(e) {}
        tcp::socket sock;
        bool fired = false;
    };
    auto g = std::make_shared<Guarded>(ex);
    tcp::socket& sock = g->sock;
    const tcp::endpoint ep(spec.address, spec.effective_port());
    error_code ec;
    if (sock.open(ep.protocol(), ec); ec) {
        ProbeResult r{false, fmt::format("cannot open a socket: {}", ec.message())};
        r.inconclusive = is_local_shortage(ec);
        co_return finish(std::move(r));
    }
    if (spec.bindto) {
        if (sock.bind(tcp::endpoint(*spec.bindto, 0), ec); ec) {
            auto reason = fmt::format("cannot bind to {}: {}", *spec.bindto, ec.message());
            sock.close(ec);
            co_return finish({false, std::move(reason)});
        }
    }

    // The deadline: a watchdog that closes the socket when it fires, which ends any
    // pending connect/write/read at once; a hung peer costs its timeout and nothing
    // more. (A plain completion handler rather than awaitable operators: racing two
    // coroutines with `||` spawns both and allocates a parallel group per probe, which
    // doubled the user CPU of a TCP check in bench/healthcheck_capacity.)
    asio::steady_timer timer(ex, spec.connect_timeout);
    timer.async_wait([g](const error_code& tec) {
        if (tec) return;  // the exchange finished first
        g->fired = true;
        error_code ignored;
        g->sock.close(ignored);
    });
    Phase phase = Phase::Connecting;
    std::string smtp_waiting;  // what an SMTP check waits for, for the timeout's reason
    ProbeResult result = co_await exchange(sock, spec, phase, smtp_waiting);
    timer.cancel();

    if (g->fired) {
        result.ok = false;
        result.reason = phase == Phase::Connecting
                            ? fmt::format("connect timeout after {}ms", spec.connect_timeout.count())
                            : fmt::format("no response within {}ms", spec.connect_timeout.count());
        if (spec.type == CheckType::Proxy && phase != Phase::Connecting)
            result.reason = fmt::format("proxy fetching {}: {}", spec.proxy_url, result.reason);
        if (spec.type == CheckType::Smtp && phase != Phase::Connecting)
            result.reason = fmt::format("SMTP: no {} within {}ms", smtp_waiting, spec.connect_timeout.count());
        // A check that timed out as it ended may have kept its TLS session: a failed check
        // is followed by a full handshake.
        if (spec.type == CheckType::Ssl && !spec.ssl_verify)
            detail::tls_sessions().drop(detail::session_target(spec));
    }

    if (sock.is_open()) {
        // A plain TCP check closes with RST (SO_LINGER 0), as HAProxy does: at thousands
        // of checks a second a FIN close would leave the balancer with hundreds of
        // thousands of TIME_WAIT sockets. HTTP exchanges end with the server's close.
        if (spec.type == CheckType::Tcp && result.ok) sock.set_option(asio::socket_base::linger(true, 0), ec);
        sock.close(ec);
    }
    co_return finish(std::move(result));
}

}  // namespace lvsd::healthcheck
