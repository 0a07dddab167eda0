#include "daemon/metrics.hpp"

#include <cctype>
#include <charconv>
#include <iterator>
#include <set>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace lvsd::daemon {
namespace {

// The blank line that ends a request head: CRLF CRLF, or bare LFs, which RFC 9112 §2.2
// lets a server accept.
struct EndOfHead {
    template <class It>
    std::pair<It, bool> operator()(It begin, It end) const {
        for (It i = begin; i != end; ++i) {
            if (*i != '\n') continue;
            It j = std::next(i);
            if (j != end && *j == '\r') ++j;
            if (j != end && *j == '\n') return {std::next(j), true};
        }
        // Resume a few bytes back next time, so that a head trickling in byte by byte
        // is scanned once, not once per byte.
        return {end - begin > 3 ? end - 3 : begin, false};
    }
};

}  // namespace
}  // namespace lvsd::daemon

template <>
struct boost::asio::is_match_condition<lvsd::daemon::EndOfHead> : std::true_type {};

namespace lvsd::daemon {

// ---- Renderer ----------------------------------------------------------------------

namespace {

void append_escaped(std::string& out, std::string_view s) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

}  // namespace

std::string escape_label_value(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_escaped(out, s);
    return out;
}

namespace {

// HELP text escapes backslash and newline (but not quotes).
std::string escape_help(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Writes one family at a time: the header, then its samples, so that every sample of a
// family is contiguous as the format requires.
class Text {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        name_.assign(name);
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
    }

    // Appends in place: a large table makes tens of thousands of samples per scrape.
    template <class T>
    void sample(Labels labels, T value) {
        out_ += name_;
        if (labels.size() > 0) {
            char sep = '{';
            for (const auto& [k, v] : labels) {
                out_ += sep;
                sep = ',';
                out_ += k;
                out_ += "=\"";
                append_escaped(out_, v);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        if constexpr (std::is_same_v<T, bool>) {
            out_ += value ? '1' : '0';
        } else if constexpr (std::is_integral_v<T>) {
            char buf[24];
            auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
            out_.append(buf, end);
        } else {
            fmt::format_to(std::back_inserter(out_), "{}", value);  // shortest round-trip
        }
        out_ += '\n';
    }
    template <class T>
    void sample(T value) {
        sample({}, value);
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
    std::string name_;
};

constexpr vrrp::State kStates[] = {vrrp::State::Initialize, vrrp::State::Backup,
                                   vrrp::State::Master, vrrp::State::Fault};

void render_process(Text& t, const ProcessMetrics& p) {
    t.family("lvsd_build_info", "gauge", "Always 1; the version label is lvsd's version.");
    t.sample({{"version", p.version}}, 1);
    t.family("lvsd_start_time_seconds", "gauge", "When lvsd started, in seconds since the Unix epoch.");
    t.sample(p.start_time_seconds);
    t.family("lvsd_config_generation", "gauge",
             "Generation of the running configuration: 1 at start, +1 per accepted reload.");
    t.sample(p.config_generation);
    t.family("lvsd_config_reloads_total", "counter",
             "Reloads (SIGHUP or lvsctl reload) by result; a failed reload keeps the running configuration.");
    t.sample({{"result", "success"}}, p.reloads_succeeded);
    t.sample({{"result", "failure"}}, p.reloads_failed);
    t.family("lvsd_config_last_reload_successful", "gauge",
             "1 if the last reload was accepted (or none was tried), 0 if it was rejected.");
    t.sample(p.last_reload_succeeded);
}

void render_vrrp(Text& t, const std::vector<VrrpInstanceMetrics>& instances) {
    if (instances.empty()) return;
    t.family("lvsd_vrrp_instance_info", "gauge", "Always 1; labels give each VRRP instance's interface, VRID and version.");
    for (const auto& i : instances)
        t.sample({{"vrrp_instance", i.name},
                  {"interface", i.interface},
                  {"vrid", std::to_string(i.virtual_router_id)},
                  {"version", std::to_string(i.version)}},
                 1);
    t.family("lvsd_vrrp_state", "gauge",
             "1 for the state each VRRP instance is in (INIT, BACKUP, MASTER, FAULT), 0 for the others.");
    for (const auto& i : instances)
        for (auto s : kStates) t.sample({{"vrrp_instance", i.name}, {"state", vrrp::to_string(s)}}, i.state == s);
    t.family("lvsd_vrrp_state_duration_seconds", "gauge", "How long each VRRP instance has been in its current state.");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.state_seconds);
    t.family("lvsd_vrrp_priority", "gauge", "Configured priority (255: address owner).");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.priority);
    t.family("lvsd_vrrp_effective_priority", "gauge",
             "Priority the instance advertises with now: the configured one moved by its trackers (0 once stopped).");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.effective_priority);
    t.family("lvsd_vrrp_tracker_priority_delta", "gauge",
             "What each tracker (track_interface, track_script, track_arp_target) adds to the priority now.");
    for (const auto& i : instances)
        for (const auto& c : i.trackers) t.sample({{"vrrp_instance", i.name}, {"tracker", c.what}}, c.delta);
    t.family("lvsd_vrrp_tracker_fault", "gauge", "1 while a weight-0 tracker fails and holds the instance in FAULT.");
    for (const auto& i : instances)
        for (const auto& c : i.trackers) t.sample({{"vrrp_instance", i.name}, {"tracker", c.what}}, c.fault ? 1 : 0);

    struct Counter {
        const char* name;
        const char* help;
        uint64_t vrrp::Counters::*field;
    };
    static constexpr Counter kCounters[] = {
        {"lvsd_vrrp_transitions_total", "State transitions.", &vrrp::Counters::transitions},
        {"lvsd_vrrp_adverts_sent_total", "VRRP adverts sent.", &vrrp::Counters::adverts_sent},
        {"lvsd_vrrp_adverts_received_total", "VRRP adverts received and accepted.",
         &vrrp::Counters::adverts_received},
        {"lvsd_vrrp_advert_send_errors_total", "VRRP adverts the kernel refused to send.",
         &vrrp::Counters::send_errors},
        {"lvsd_vrrp_garps_sent_total", "Gratuitous ARPs and unsolicited neighbour advertisements sent.",
         &vrrp::Counters::garps_sent},
        {"lvsd_vrrp_vip_repairs_total",
         "VIP differences made behind lvsd's back and repaired (a VIP removed or relabelled while master, "
         "a VIP address added while not master).",
         &vrrp::Counters::vip_repairs},
    };
    for (const auto& c : kCounters) {
        t.family(c.name, "counter", c.help);
        for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.counters.*c.field);
    }
    t.family("lvsd_vrrp_packets_dropped_total", "counter",
             "VRRP packets received and dropped, by reason (wrong_vrid is another router on the wire).");
    for (const auto& i : instances)
        for (std::size_t r = 0; r < i.counters.dropped.size(); ++r)
            t.sample({{"vrrp_instance", i.name}, {"reason", vrrp::to_string(static_cast<vrrp::DropReason>(r))}},
                     i.counters.dropped[r]);
}

// Real servers as the health checker and the table see them.
void render_real_servers(Text& t, const ServicePlaneMetrics& m) {
    auto each = [&](auto&& f) {
        for (const auto& s : m.services)
            for (const auto& r : s.real_servers) f(s, r);
    };
    t.family("lvsd_real_server_up", "gauge",
             "1 if the real server passes its health check (always 1 without a check), 0 if it is down.");
    each([&](const auto& s, const auto& r) { t.sample({{"service", s.name}, {"real_server", r.name}}, r.up); });
    t.family("lvsd_real_server_in_kernel", "gauge", "1 if the real server is in the kernel's IPVS table.");
    each([&](const auto& s, const auto& r) {
        t.sample({{"service", s.name}, {"real_server", r.name}}, r.weight.has_value());
    });
    t.family("lvsd_real_server_weight", "gauge",
             "Weight in the kernel's IPVS table (0 when inhibited or not in the table).");
    each([&](const auto& s, const auto& r) {
        t.sample({{"service", s.name}, {"real_server", r.name}}, r.weight.value_or(0));
    });
    t.family("lvsd_real_server_probes_total", "counter",
             "Health probes of the real server's check (real servers with the same check share it).");
    each([&](const auto& s, const auto& r) {
        if (r.checked) t.sample({{"service", s.name}, {"real_server", r.name}}, r.probes);
    });
    t.family("lvsd_real_server_last_probe_success", "gauge", "1 if the last health probe succeeded, 0 if it failed.");
    each([&](const auto& s, const auto& r) {
        if (r.last_probe) t.sample({{"service", s.name}, {"real_server", r.name}}, r.last_probe->ok);
    });
    t.family("lvsd_real_server_probe_latency_seconds", "gauge", "How long the last health probe took.");
    each([&](const auto& s, const auto& r) {
        if (r.last_probe)
            t.sample({{"service", s.name}, {"real_server", r.name}},
                     std::chrono::duration<double>(r.last_probe->latency).count());
    });
    t.family("lvsd_healthcheck_probes_total", "counter",
             "Health probes finished, by result (inconclusive: a local shortage such as no free file "
             "descriptor, not counted against the real server).");
    t.sample({{"result", "success"}}, m.probes.probes_ok);
    t.sample({{"result", "failure"}}, m.probes.probes_failed);
    t.sample({{"result", "inconclusive"}}, m.probes.probes_inconclusive);
    t.family("lvsd_healthcheck_probes_in_flight", "gauge", "Health probes running right now.");
    t.sample(m.probes.in_flight);
}

struct StatField {
    std::string_view suffix;
    std::string_view help;
    uint64_t ipvs::Stats::*field;
};
constexpr StatField kStatFields[] = {
    {"connections_total", "Connections scheduled by IPVS.", &ipvs::Stats::connections},
    {"incoming_packets_total", "Packets from clients.", &ipvs::Stats::packets_in},
    {"outgoing_packets_total", "Packets to clients (stay 0 under DR and TUN: replies bypass the balancer).",
     &ipvs::Stats::packets_out},
    {"incoming_bytes_total", "Bytes from clients.", &ipvs::Stats::bytes_in},
    {"outgoing_bytes_total", "Bytes to clients (stay 0 under DR and TUN: replies bypass the balancer).",
     &ipvs::Stats::bytes_out},
};

// The reconciler's counters and the kernel's, for the configured services only (a
// service lvsd does not own is someone else's to export).
void render_ipvs(Text& t, const ServicePlaneMetrics& m) {
    t.family("lvsd_ipvs_reconciles_total", "counter",
             "Reconcile runs (at start, on every change, every reconcile_interval).");
    t.sample(m.reconciles);
    t.family("lvsd_ipvs_reconcile_failures_total", "counter", "Reconcile runs that could not read the kernel's table.");
    t.sample(m.reconcile_failures);
    t.family("lvsd_ipvs_operations_total", "counter", "IPVS netlink operations sent by the reconciler.");
    t.sample(m.ops_sent);
    t.family("lvsd_ipvs_operation_errors_total", "counter", "IPVS netlink operations the kernel refused.");
    t.sample(m.ops_failed);
    t.family("lvsd_ipvs_stats_success", "gauge",
             "1 if the kernel's IPVS counters were read for this scrape, 0 if reading them failed.");
    t.sample(m.stats_read);
    t.family("lvsd_ipvs_service_in_kernel", "gauge", "1 if the virtual service is in the kernel's IPVS table.");
    for (const auto& s : m.services) t.sample({{"service", s.name}}, s.in_kernel);

    for (const auto& f : kStatFields) {
        t.family(fmt::format("lvsd_ipvs_service_{}", f.suffix), "counter", f.help);
        for (const auto& s : m.services)
            if (s.kernel) t.sample({{"service", s.name}}, (*s.kernel).*f.field);
    }
    // A service's connections are its real servers' (IPVS keeps them per destination).
    auto connections = [&](std::string_view name, std::string_view help, uint32_t ipvs::DestinationStatus::*field) {
        t.family(name, "gauge", help);
        for (const auto& s : m.services) {
            if (!s.kernel) continue;
            uint64_t sum = 0;
            for (const auto& r : s.real_servers)
                if (r.kernel) sum += (*r.kernel).*field;
            t.sample({{"service", s.name}}, sum);
        }
    };
    connections("lvsd_ipvs_service_active_connections", "Established connections of the service (ActiveConn).",
                &ipvs::DestinationStatus::active_connections);
    connections("lvsd_ipvs_service_inactive_connections",
                "Connections of the service in any other state (InActConn).",
                &ipvs::DestinationStatus::inactive_connections);

    auto each_real = [&](auto&& f) {
        for (const auto& s : m.services)
            for (const auto& r : s.real_servers)
                if (r.kernel) f(s, r, *r.kernel);
    };
    for (const auto& f : kStatFields) {
        t.family(fmt::format("lvsd_ipvs_real_server_{}", f.suffix), "counter", f.help);
        each_real([&](const auto& s, const auto& r, const ipvs::DestinationStatus& k) {
            t.sample({{"service", s.name}, {"real_server", r.name}}, k.stats.*f.field);
        });
    }
    struct ConnField {
        std::string_view name;
        std::string_view help;
        uint32_t ipvs::DestinationStatus::*field;
    };
    static constexpr ConnField kConns[] = {
        {"lvsd_ipvs_real_server_active_connections", "Established connections (ActiveConn).",
         &ipvs::DestinationStatus::active_connections},
        {"lvsd_ipvs_real_server_inactive_connections", "Connections in any other state (InActConn).",
         &ipvs::DestinationStatus::inactive_connections},
        {"lvsd_ipvs_real_server_persistent_connections",
         "Persistence templates pointing at the real server (persistence_timeout).",
         &ipvs::DestinationStatus::persistent_connections},
    };
    for (const auto& c : kConns) {
        t.family(c.name, "gauge", c.help);
        each_real([&](const auto& s, const auto& r, const ipvs::DestinationStatus& k) {
            t.sample({{"service", s.name}, {"real_server", r.name}}, k.*c.field);
        });
    }
}

void render_http(Text& t, const HttpMetrics& h) {
    t.family("lvsd_metrics_http_responses_total", "counter", "Responses of this endpoint, by HTTP status code.");
    for (const auto& [code, n] : h.responses) t.sample({{"code", std::to_string(code)}}, n);
    t.family("lvsd_metrics_http_rejected_total", "counter",
             "Clients this endpoint turned away, by reason (malformed: 400; header_too_large: 431; "
             "read_timeout, write_timeout: dropped; connection_limit: 503).");
    for (std::size_t r = 0; r < h.rejected.size(); ++r)
        t.sample({{"reason", to_string(static_cast<HttpReject>(r))}}, h.rejected[r]);
    t.family("lvsd_metrics_http_open_connections", "gauge", "Connections to this endpoint open right now.");
    t.sample(h.open_connections);
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
    Text t;
    render_process(t, s.process);
    render_vrrp(t, s.vrrp);
    if (s.ipvs) {
        render_real_servers(t, *s.ipvs);
        render_ipvs(t, *s.ipvs);
    }
    render_http(t, s.http);
    return t.take();
}

// ---- HTTP --------------------------------------------------------------------------

std::string_view to_string(HttpReject r) {
    switch (r) {
        case HttpReject::Malformed: return "malformed";
        case HttpReject::HeaderTooLarge: return "header_too_large";
        case HttpReject::ReadTimeout: return "read_timeout";
        case HttpReject::WriteTimeout: return "write_timeout";
        case HttpReject::ConnectionLimit: return "connection_limit";
        case HttpReject::kCount: break;
    }
    return "unknown";
}

namespace {

// RFC 9110 §5.6.2 token characters (method and field names).
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos))
            return false;
    return true;
}

std::string_view reason_phrase(unsigned status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
    }
    return "Unknown";
}

}  // namespace

HttpRequest classify_request(std::string_view head) {
    HttpRequest bad{400, false};
    // Lines end in CRLF (RFC 9112 §2.2 lets a server accept a bare LF too).
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        auto nl = head.find('\n');
        auto line = head.substr(0, nl);
        if (line.ends_with('\r')) line.remove_suffix(1);
        lines.push_back(line);
        if (nl == std::string_view::npos) break;
        head.remove_prefix(nl + 1);
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    if (lines.empty()) return bad;

    // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    std::string_view line = lines.front();
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return bad;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return bad;
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || (version != "HTTP/1.1" && version != "HTTP/1.0")) return bad;
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f) return bad;
    // absolute-form (RFC 9112 §3.2.2), which a server must accept: keep the path.
    if (target.starts_with("http://") || target.starts_with("https://")) {
        auto scheme_end = target.find("//") + 2;
        auto slash = target.find('/', scheme_end);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (!target.starts_with('/')) return bad;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        // field-line = field-name ":" OWS field-value; no obsolete line folding.
        auto colon = lines[i].find(':');
        if (colon == std::string_view::npos || !is_token(lines[i].substr(0, colon))) return bad;
    }

    std::string_view path = target.substr(0, target.find_first_of("?#"));
    const bool head_only = method == "HEAD";
    if (path != "/metrics") return {404, head_only};
    if (method != "GET" && !head_only) return {405, false};
    return {200, head_only};
}

std::string http_response(unsigned status, std::string_view content_type, std::string_view body, bool head) {
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
                       status, reason_phrase(status), content_type, body.size(),
                       status == 405 ? "Allow: GET, HEAD\r\n" : "", head ? std::string_view() : body);
}

// ---- Server ------------------------------------------------------------------------

using namespace asio::experimental::awaitable_operators;

constexpr std::chrono::milliseconds kLinger{1000};
constexpr std::size_t kLingerBytes = 64 << 10;

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
                auto busy = http_response(503, "text/plain; charset=utf-8", "too many connections\n");
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
        std::string in;
        // One deadline for the whole head, however it trickles in (slowloris).
        deadline.expires_after(limits.read_timeout);
        auto read = co_await (asio::async_read_until(socket, asio::dynamic_buffer(in, limits.max_request_head),
                                                     EndOfHead{}, asio::as_tuple(asio::use_awaitable)) ||
                              deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (self->stopped) co_return;
        if (read.index() == 1) {
            self->reject(HttpReject::ReadTimeout, peer);
            co_return;
        }
        auto [ec, n] = std::get<0>(read);
        std::string out;
        unsigned status = 0;
        if (ec == asio::error::not_found) {  // the buffer is full and no blank line yet
            self->reject(HttpReject::HeaderTooLarge, peer);
            status = 431;
            out = http_response(status, "text/plain; charset=utf-8",
                                fmt::format("request head larger than {} bytes\n", limits.max_request_head));
        } else if (ec) {
            // Gone before the head was complete; a half-sent request counts as malformed.
            if (!in.empty()) self->reject(HttpReject::Malformed, peer);
            co_return;
        } else {
            auto req = classify_request(std::string_view(in).substr(0, n));
            status = req.status;
            if (status == 200) {
                try {
                    out = http_response(200, kMetricsContentType, self->collect(self->http), req.head);
                } catch (const std::exception& e) {
                    spdlog::error("metrics: cannot render: {}", e.what());
                    status = 500;
                    out = http_response(status, "text/plain; charset=utf-8", "internal error\n");
                }
            } else {
                if (status == 400) self->reject(HttpReject::Malformed, peer);
                std::string_view body = status == 400   ? "bad request\n"
                                        : status == 405 ? "only GET and HEAD\n"
                                                        : "not found; metrics are at /metrics\n";
                out = http_response(status, "text/plain; charset=utf-8", body, req.head);
            }
        }
        ++self->http.responses[status];
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
        // sent with most of an oversized head unread). So: end our side, then take what
        // the client still sends until it closes, briefly and boundedly.
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
