#include "daemon/service_plane.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/command.hpp"
#include "daemon/desired.hpp"
#include "daemon/metrics.hpp"
#include "daemon/ownership_file.hpp"
#include "ipvs/client.hpp"

namespace lvsd::daemon {

namespace {

// As for VRRP notify scripts: a command still running after this is killed.
constexpr std::chrono::milliseconds kCommandTimeout{10000};

std::vector<healthcheck::StatusRange> ranges(const config::StatusCodes& codes) {
    std::vector<healthcheck::StatusRange> out;
    for (auto [low, high] : codes) out.push_back({low, high});
    return out;
}

}  // namespace

healthcheck::CheckSpec check_spec(const config::VirtualServer& vs, const config::RealServer& rs,
                                  const config::HealthCheck& hc) {
    healthcheck::CheckSpec spec;
    spec.address = hc.connect_ip;
    spec.port = hc.connect_port != 0 ? hc.connect_port : rs.port;
    spec.bindto = hc.bindto;
    spec.connect_timeout = hc.connect_timeout;
    spec.rise = hc.rise;
    spec.fall = hc.fall;
    spec.initial = vs.alpha ? healthcheck::InitialState::DownUntilFirstSuccess
                            : healthcheck::InitialState::Up;
    spec.delay_loop = hc.delay_loop;
    spec.delay_before_retry = hc.delay_before_retry;
    if (const auto* http = std::get_if<config::HttpProbe>(&hc.probe)) {
        spec.type = http->tls ? healthcheck::CheckType::Ssl : healthcheck::CheckType::Http;
        spec.ssl_verify = http->ssl_verify;
        spec.ssl_ca = http->ssl_ca;
        spec.path = http->path;
        spec.virtualhost = http->virtualhost;
        spec.status_code = ranges(http->status_code);
        spec.body_contains = http->body_contains;
        spec.digest = http->digest;
    } else if (const auto* proxy = std::get_if<config::ProxyProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Proxy;
        spec.proxy_url = proxy->url;
        spec.status_code = ranges(proxy->status_code);
    } else if (const auto* udp = std::get_if<config::UdpProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Udp;
        spec.udp_payload = udp->payload;
        spec.require_reply = udp->require_reply;
    } else if (const auto* dns = std::get_if<config::DnsProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Dns;
        spec.dns_type = dns->type;
        spec.dns_name = dns->name;
    } else if (const auto* smtp = std::get_if<config::SmtpProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Smtp;
        spec.helo_name = smtp->helo_name;
    } else if (const auto* misc = std::get_if<config::MiscProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Misc;
        spec.misc_argv = misc->argv;
        spec.misc_dynamic = misc->dynamic;
        if (misc->user) spec.misc_user = RunAs{misc->user->uid, misc->user->gid};
    } else {
        spec.type = healthcheck::CheckType::Tcp;
        spec.tcp_method = std::get<config::TcpProbe>(hc.probe).half_open
                              ? healthcheck::TcpMethod::HalfOpen
                              : healthcheck::TcpMethod::Connect;
    }
    return spec;
}

Result<void> check_against_host(const config::Config& config,
                                const std::function<bool(const IpAddress&)>& is_local_address) {
    std::vector<std::string> problems;
    std::set<std::pair<std::string, int>> reported;  // a group's services share their checks
    for (const auto& vs : config.virtual_servers)
        for (const auto& rs : vs.real_servers)
            for (const auto& hc : rs.checks) {
                if (!hc.bindto || is_local_address(*hc.bindto)) continue;
                const auto& where = hc.where;
                if (!reported.emplace(where.file, where.line).second) continue;
                problems.push_back(fmt::format(
                    "{}:{}: {} of real server {} in {}: bindto {} is not an address of this host (every "
                    "probe would fail and take the real server down)",
                    where.file, where.line, config::check_name(hc), format_endpoint(rs.address, rs.port),
                    config::pool_name(vs), *hc.bindto));
            }
    if (problems.empty()) return {};
    return make_error(EADDRNOTAVAIL, "{}", fmt::join(problems, "; "));
}

ServicePlane::ServicePlane(boost::asio::any_io_executor executor,
                           std::unique_ptr<ipvs::Backend> backend)
    : ServicePlane(std::move(executor), Backends{std::move(backend), nullptr}) {}

ServicePlane::ServicePlane(boost::asio::any_io_executor executor,
                           std::unique_ptr<ipvs::Client> client)
    : ServicePlane(std::move(executor), [&] {
          ipvs::Client* raw = client.get();
          return Backends{std::move(client), raw};
      }()) {}

ServicePlane::ServicePlane(boost::asio::any_io_executor executor, Backends backends)
    : executor_(executor),
      backend_(std::move(backends.first)),
      reconciler_(*backend_),
      monitor_(executor, [this](const healthcheck::HealthEvent& e) { on_health(e); }),
      periodic_(executor),
      drain_poll_(executor),
      stats_(backends.second) {}

ServicePlane::~ServicePlane() = default;

Result<void> ServicePlane::apply(std::shared_ptr<const config::Config> config) {
    std::vector<healthcheck::CheckSpec> specs;
    for (const auto& vs : config->virtual_servers)
        for (const auto& rs : vs.real_servers)
            for (const auto& hc : rs.checks) specs.push_back(check_spec(vs, rs, hc));
    if (auto r = monitor_.update(specs); !r) return r;
    std::set<std::string> kept;
    for (const auto& spec : specs)
        if (auto k = healthcheck::check_key(spec); settled_.contains(k)) kept.insert(std::move(k));
    settled_ = std::move(kept);
    const auto previous = std::exchange(config_, std::move(config));
    fit_overrides(previous.get());
    update_quorum();
    rebuild_desired();
    reconcile("configuration applied");
    arm_periodic();
    poll_drains();
    if (quorum_listener_) quorum_listener_();
    return {};
}

std::optional<bool> ServicePlane::quorum_verdict(const config::VirtualServer& vs) const {
    auto it = quorum_.find(config::pool_name(vs));
    if (it == quorum_.end()) return std::nullopt;
    for (const auto& rs : vs.real_servers)
        for (const auto& hc : rs.checks) {
            auto key = healthcheck::check_key(check_spec(vs, rs, hc));
            if (settled_.contains(key)) continue;  // once settled, a check's state is its verdict
            auto st = monitor_.status(key);
            if (!st || !st->judged ||
                !(st->health == healthcheck::Health::Up ? st->successes > 0 : st->failures > 0))
                return std::nullopt;
            settled_.insert(std::move(key));
        }
    return it->second == Quorum::Up;
}

bool ServicePlane::takes_new_connections(const config::VirtualServer& vs) const {
    const auto& desired = reconciler_.desired();
    auto it = desired.find(service_key(vs));
    return it != desired.end() &&
           std::ranges::any_of(it->second.destinations, [](const auto& d) { return d.second.weight > 0; });
}

void ServicePlane::rebuild_desired() {
    reconciler_.set_desired(desired_table(
        *config_, [this](const auto& vs, const auto& rs) { return view(vs, rs).healthy; },
        [this](const config::VirtualServer& vs) { return has_quorum(vs); },
        [this](const auto& vs, const auto& rs) { return view(vs, rs).dynamic_weight; },
        [this](const auto& vs, const auto& rs) { return override_of(vs, rs); }));
}

bool ServicePlane::has_quorum(const config::VirtualServer& vs) const {
    auto it = quorum_.find(config::pool_name(vs));
    return it == quorum_.end() || it->second == Quorum::Up;
}

void ServicePlane::update_quorum() {
    std::map<std::string, Quorum> next;
    const auto healthy = [this](const auto& vs, const auto& rs) { return view(vs, rs).healthy; };
    for (const auto& vs : config_->virtual_servers) {
        auto pool = config::pool_name(vs);
        if (next.contains(pool)) continue;
        std::optional<Quorum> before;
        if (auto it = quorum_.find(pool); it != quorum_.end()) before = it->second;
        const uint64_t sum = weight_up(vs, healthy);
        const Quorum now = quorum_state(sum, vs.quorum, vs.hysteresis, before);
        next.emplace(pool, now);
        // A new service starts in its state without a transition (nothing to run).
        if (!before || *before == now) continue;
        if (now == Quorum::Down)
            spdlog::warn("virtual server {}: quorum lost: the up real servers weigh {}, below {} - {}{}", pool, sum,
                         vs.quorum, vs.hysteresis, vs.sorry_server ? "; the sorry server takes over" : "");
        else
            spdlog::info("virtual server {}: quorum gained: the up real servers weigh {}, at least {} + {}", pool, sum,
                         vs.quorum, vs.hysteresis);
        const auto& command = now == Quorum::Up ? vs.quorum_up : vs.quorum_down;
        if (command) run_command(executor_, command->argv, kCommandTimeout);
    }
    quorum_ = std::move(next);
}

void ServicePlane::on_health(const healthcheck::HealthEvent& e) {
    // One line per transition; the real servers sharing this check are named once each.
    const bool up = e.transition.to == healthcheck::Health::Up;
    std::vector<std::string> users;
    std::vector<const config::Command*> commands;
    std::set<std::pair<std::string, std::string>> notified;  // a group's services share one notification
    bool several = false;  // a user has other checks too: name this one's kind
    for (const auto& vs : config_->virtual_servers)
        for (const auto& rs : vs.real_servers) {
            auto mine = std::find_if(rs.checks.begin(), rs.checks.end(), [&](const auto& hc) {
                return healthcheck::check_key(check_spec(vs, rs, hc)) == e.key;
            });
            if (mine == rs.checks.end()) continue;
            const auto endpoint = format_endpoint(rs.address, rs.port);
            users.push_back(fmt::format("{} -> {}", config::service_name(vs), endpoint));
            several = several || rs.checks.size() > 1;
            // The real server's own verdict (all its checks) changed only if its other
            // checks are up: then this one decided it.
            bool others_up = true;
            for (auto hc = rs.checks.begin(); hc != rs.checks.end(); ++hc) {
                if (hc == mine) continue;
                auto st = monitor_.status(healthcheck::check_key(check_spec(vs, rs, *hc)));
                others_up = others_up && st && st->health == healthcheck::Health::Up;
            }
            const auto& command = up ? rs.notify_up : rs.notify_down;
            if (others_up && command && notified.emplace(config::pool_name(vs), endpoint).second)
                commands.push_back(&*command);
        }
    spdlog::log(up ? spdlog::level::info : spdlog::level::warn, "real server {} {}({})", e,
                several ? fmt::format("[{}] ", e.spec.type) : "", fmt::join(users, ", "));
    for (const auto* command : commands) run_command(executor_, command->argv, kCommandTimeout);
    update_quorum();
    rebuild_desired();
    reconcile("health change");
    if (quorum_listener_) quorum_listener_();
}

void ServicePlane::keep_ownership_in(std::string path) {
    auto before = read_ownership(path);
    for (const auto& p : before.problems) spdlog::warn("{} (ignored)", p);
    if (!before.owned.empty())
        spdlog::info("IPVS: {} service{} owned by the previous run ({})", before.owned.size(),
                     before.owned.size() == 1 ? "" : "s", path);
    reconciler_.adopt(before.owned);
    ownership_written_ = std::move(before.owned);
    ownership_path_ = std::move(path);
}

void ServicePlane::rewrite_ownership() {
    ownership_lost_ = true;
    write_ownership_if_changed();
}

void ServicePlane::write_ownership_if_changed() {
    if (ownership_path_.empty() || (reconciler_.owned() == ownership_written_ && !ownership_lost_)) return;
    // Tried again on every reconcile until it works; said once per distinct error.
    if (auto w = write_ownership(ownership_path_, reconciler_.owned()); !w) {
        if (w.error().message != ownership_error_)
            spdlog::error("IPVS: cannot keep the owned services: {}; a restart before this is fixed would not know "
                          "the services added or removed since",
                          w.error().message);
        ownership_error_ = w.error().message;
        return;
    }
    if (!ownership_error_.empty()) spdlog::info("IPVS: owned services written to {} again", ownership_path_);
    ownership_error_.clear();
    ownership_written_ = reconciler_.owned();
    ownership_lost_ = false;
}

void ServicePlane::keep_sloppy() {
    std::vector<std::string> announced;
    for (const auto& vs : config_->virtual_servers)
        if (vs.announce) announced.push_back(config::service_name(vs));
    auto written = sysctls_.keep_sloppy(!announced.empty());
    if (!written) {
        if (written.error().message != sysctl_error_)
            spdlog::error("IPVS: {}; a flow that moves to this balancer in the middle of its connection (ECMP) "
                          "is reset instead of scheduled",
                          written.error().message);
        sysctl_error_ = written.error().message;
        return;
    }
    sysctl_error_.clear();
    if (written->empty()) return;
    std::vector<std::string> settings;
    for (const auto& w : *written)
        settings.push_back(fmt::format("net.ipv4.vs.{}={} (was {})", w.name, w.value, w.was.value_or(0)));
    if (!sloppy_set_)
        spdlog::info("IPVS: {}: announced services ({}) share their flows with other balancers behind ECMP, and a "
                     "flow that moves here in the middle of its connection must be scheduled (mh sends it to the "
                     "same real server), not reset; left set when lvsd stops",
                     fmt::join(settings, ", "), fmt::join(announced, ", "));
    else
        spdlog::warn("IPVS: changed behind lvsd's back, set again: {}", fmt::join(settings, ", "));
    sloppy_set_ = true;
}

void ServicePlane::reconcile(std::string_view why) {
    auto report = reconciler_.reconcile();
    ++reconciles_;
    write_ownership_if_changed();
    keep_sloppy();
    if (!report) {
        ++reconcile_failures_;
        spdlog::error("IPVS reconcile ({}): {}", why, report.error().message);
        return;
    }
    ops_sent_ += report->ops_sent;
    ops_failed_ += report->ops_failed;
    for (const auto& e : report->errors) spdlog::error("IPVS: {}", e.message);
    if (report->ops_sent > 0)
        spdlog::info("IPVS reconcile ({}): {} operation{} sent, {} failed", why,
                     report->ops_sent, report->ops_sent == 1 ? "" : "s", report->ops_failed);
}

void ServicePlane::arm_periodic() {
    // Repairs changes made behind lvsd's back (ipvsadm -C, another tool); re-armed on
    // every apply so a new reconcile_interval takes effect at once.
    periodic_.expires_after(config_->global.reconcile_interval);
    periodic_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        reconcile("periodic");
        arm_periodic();
    });
}

ServicePlane::RealServerView ServicePlane::view(const config::VirtualServer& vs,
                                                const config::RealServer& rs) const {
    RealServerView v;
    const auto& kernel = reconciler_.kernel();
    if (auto service = kernel.find(service_key(vs)); service != kernel.end())
        if (auto d = service->second.destinations.find(destination_key(rs));
            d != service->second.destinations.end())
            v.weight = d->second.weight;
    // Up only while every check is up (keepalived: all of a real server's checkers).
    std::optional<healthcheck::ProbeResult> first_last, failing_last;
    std::string first_check, failing_check;
    std::vector<CheckState> states;
    for (const auto& hc : rs.checks) {
        auto st = monitor_.status(healthcheck::check_key(check_spec(vs, rs, hc)));
        const bool up = st && st->health == healthcheck::Health::Up;
        // A weight set while misc_dynamic was on stays in the monitor's history across a
        // reload that turns it off: only a dynamic check's weight counts.
        const auto* misc = std::get_if<config::MiscProbe>(&hc.probe);
        states.push_back({up, st && misc && misc->dynamic ? st->dynamic_weight : std::nullopt});
        if (!st) continue;
        v.probes += st->probes;
        v.sharing = std::max(v.sharing, st->users);
        if (st->last && !first_last) first_last = st->last, first_check = config::check_name(hc);
        if (st->last && !up && !failing_last) failing_last = st->last, failing_check = config::check_name(hc);
    }
    const auto combined = combine_checks(states);
    v.healthy = combined.up;
    v.dynamic_weight = combined.weight;
    v.last = failing_last ? failing_last : first_last;
    v.last_check = failing_last ? failing_check : first_check;
    return v;
}

std::string ServicePlane::status_text() const {
    std::string out = fmt::format("IPVS: {} reconciles, {} operations sent, {} failed\n",
                                  reconciles_, ops_sent_, ops_failed_);
    // The kernel's connection counts come from the same read as a metrics scrape.
    const auto m = metrics();
    for (size_t i = 0; i < config_->virtual_servers.size(); ++i) {
        const auto& vs = config_->virtual_servers[i];
        out += fmt::format("{} {} {}{}{}{}\n", config::service_name(vs), vs.lb_algo,
                           config::to_string(vs.lb_kind),
                           vs.group.empty() ? "" : fmt::format("  (group {})", vs.group),
                           has_quorum(vs) ? "" : vs.sorry_server ? "  quorum down: sorry server" : "  quorum down",
                           reconciler_.kernel().contains(service_key(vs))
                               ? ""
                               : "  (not in the kernel table)");
        for (size_t j = 0; j < vs.real_servers.size(); ++j) {
            const auto& rs = vs.real_servers[j];
            auto v = view(vs, rs);
            const auto& kernel = m.services[i].real_servers[j].kernel;
            std::string last;
            if (v.last)
                last = fmt::format("  last {}: {} in {:.1f} ms", v.last_check,
                                   v.last->reason, v.last->latency.count() / 1000.0);
            const auto* o = override_of(vs, rs);
            const auto what = o ? describe(*o, OverrideClock::now()) : std::string();
            // One probe serves every real server with the same check (in every service):
            // say so, or the counts look three times too low beside the interval.
            std::string probes;
            if (!rs.checks.empty())
                probes = fmt::format("  probes {}{}", v.probes,
                                     v.sharing > 1 ? fmt::format(" (check shared by {})", v.sharing) : "");
            out += fmt::format("  -> {:<24} {:<14} weight {:<5} conns {:<11}{}{}{}\n",
                               format_endpoint(rs.address, rs.port),
                               rs.checks.empty() ? "up (no check)" : v.healthy ? "up" : "down",
                               v.weight ? std::to_string(*v.weight) : "-",
                               kernel ? fmt::format("{}/{}", kernel->active_connections,
                                                    kernel->inactive_connections)
                                      : "-",
                               what.empty() ? "" : "  override: " + what, probes, last);
        }
    }
    return out;
}

ServicePlaneStatus ServicePlane::status() const {
    ServicePlaneStatus out{reconciles_, ops_sent_, ops_failed_, {}, overrides_ && overrides_->get().balancer_drain};
    const auto m = metrics();
    for (size_t i = 0; i < config_->virtual_servers.size(); ++i) {
        const auto& vs = config_->virtual_servers[i];
        VirtualServiceStatus& service = out.virtual_services.emplace_back();
        service.service = config::service_name(vs);
        service.scheduler = vs.lb_algo;
        service.in_kernel = reconciler_.kernel().contains(service_key(vs));
        if (!vs.group.empty()) service.group = vs.group;
        service.quorum = has_quorum(vs);
        for (size_t j = 0; j < vs.real_servers.size(); ++j) {
            const auto& rs = vs.real_servers[j];
            auto v = view(vs, rs);
            const auto& kernel = m.services[i].real_servers[j].kernel;
            RealServerStatus& real = service.real_servers.emplace_back();
            real.address = rs.address.to_string();
            real.port = rs.port;
            real.healthy = v.healthy;
            real.checked = !rs.checks.empty();
            real.weight = v.weight;
            if (v.last) real.last_probe = ProbeStatus{v.last->ok, v.last->reason, v.last->latency.count()};
            if (kernel) {
                real.active_connections = kernel->active_connections;
                real.inactive_connections = kernel->inactive_connections;
            }
            if (real.checked) real.probes = v.probes;
            if (const auto* o = override_of(vs, rs)) real.override_state = override_status(*o, OverrideClock::now());
        }
    }
    return out;
}

ServicePlaneMetrics ServicePlane::metrics() const {
    ServicePlaneMetrics m;
    m.reconciles = reconciles_;
    m.reconcile_failures = reconcile_failures_;
    m.ops_sent = ops_sent_;
    m.ops_failed = ops_failed_;
    m.probes = monitor_.stats();
    if (!config_) return m;

    // The kernel's counters are read here, once per scrape, rather than kept from the
    // reconciler's dump: that dump leaves the counters out (smaller messages, and the
    // reconciler has no use for them), it runs on every change and every
    // reconcile_interval whether or not anyone scrapes, and counters read now are what
    // rate() wants. The cost is one service dump plus one destination dump per
    // configured service that is in the kernel, on the loop's thread; lvsd's own
    // services only (the others are someone else's to export).
    std::map<ipvs::ServiceKey, ipvs::Stats> service_stats;
    std::string failure;
    if (!stats_) {
        failure = "no kernel client";
    } else if (auto services = stats_->services(); !services) {
        failure = services.error().message;
    } else {
        for (auto& s : *services) service_stats.emplace(s.service.key, s.stats);
    }
    for (const auto& vs : config_->virtual_servers) {
        ServiceMetrics sm;
        sm.name = config::service_name(vs);
        const auto key = service_key(vs);
        sm.in_kernel = reconciler_.kernel().contains(key);
        std::map<ipvs::DestinationKey, ipvs::DestinationStatus> dests;
        if (auto it = service_stats.find(key); it != service_stats.end()) {
            sm.kernel = it->second;
            if (auto d = stats_->destinations(key); !d) {
                failure = d.error().message;
            } else {
                for (auto& x : *d) dests.emplace(x.destination.key, std::move(x));
            }
        }
        for (const auto& rs : vs.real_servers) {
            auto v = view(vs, rs);
            RealServerMetrics r;
            r.name = format_endpoint(rs.address, rs.port);
            r.up = v.healthy;
            r.checked = !rs.checks.empty();
            r.weight = v.weight;
            r.probes = v.probes;
            r.last_probe = v.last;
            if (const auto* o = override_of(vs, rs)) r.override_state = override_status(*o, OverrideClock::now());
            if (auto it = dests.find(destination_key(rs)); it != dests.end()) r.kernel = it->second;
            sm.real_servers.push_back(std::move(r));
        }
        m.services.push_back(std::move(sm));
    }
    m.stats_read = failure.empty();
    if (!failure.empty() && !stats_failing_)
        spdlog::warn("metrics: cannot read the IPVS counters: {}", failure);
    else if (failure.empty() && stats_failing_)
        spdlog::info("metrics: IPVS counters readable again");
    stats_failing_ = !failure.empty();
    return m;
}

}  // namespace lvsd::daemon
