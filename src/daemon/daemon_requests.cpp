// What the daemon answers: control-socket requests (lvsctl), `lvsctl status` (text and
// JSON) and the metrics scrape. Each gathers what the planes report; none changes the host
// except through a plane.
#include <set>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/status.hpp"

namespace lvsd::daemon {

std::string Daemon::scrape(const HttpMetrics& http) const {
    MetricsSnapshot s;
    s.process.version = LVSD_VERSION;
    s.process.start_time_seconds = std::chrono::duration<double>(started_wall_.time_since_epoch()).count();
    s.process.config_generation = generation_;
    s.process.reloads_succeeded = reloads_succeeded_;
    s.process.reloads_failed = reloads_failed_;
    s.process.last_reload_succeeded = last_reload_succeeded_;
    s.vrrp = vrrp_->metrics();
    s.vrrp_thread = vrrp_thread_.scheduling();
    s.balancer_drained = balancer_drained();
    if (services_) s.ipvs = services_->metrics();
    if (announce_) s.announce = announce_->status();
    s.http = http;
    return render_metrics(s) + (bird_ ? bird_metrics(bird_->state()) : std::string());
}

ctl::Reply Daemon::on_request(std::string_view line) {
    auto request = ctl::parse_request(line);
    if (!request) return {false, fmt::format("{}\n", request.error().message)};
    if (std::holds_alternative<ctl::ReloadRequest>(*request)) return reload();
    if (const auto* s = std::get_if<ctl::StatusRequest>(&*request)) return {true, s->json ? status_json() : status_text()};
    if (const auto* v = std::get_if<ctl::VrrpRequest>(&*request)) {
        auto answer = vrrp_->request_override(override_request(*v));
        return answer ? ctl::Reply{true, *answer} : ctl::Reply{false, answer.error().message + "\n"};
    }
    // The real-server verbs: drain, undrain, progress, disable, enable, weight. A balancer
    // drain also concerns VRRP, with or without virtual services.
    const auto* d = std::get_if<ctl::DrainRequest>(&*request);
    const auto* u = std::get_if<ctl::UndrainRequest>(&*request);
    const bool balancer = (d && std::holds_alternative<ctl::Balancer>(d->target)) ||
                          (u && std::holds_alternative<ctl::Balancer>(u->target));
    const auto* p = std::get_if<ctl::ProgressRequest>(&*request);
    // `drain --balancer --wait` polls `progress --balancer`: with announced VIPs it is
    // done once no route is left in lvsd's table and BIRD no longer exports any.
    if (p && std::holds_alternative<ctl::Balancer>(p->target))
        return with_announced_routes(services_ ? services_->on_request(*request)
                                               : ctl::Reply{true, ctl::format_progress({}) + "\n"});
    if (!services_ && !balancer) return {false, "no virtual services in the configuration\n"};
    if (services_) {
        auto reply = services_->on_request(*request);
        if (balancer && reply.ok) balancer_drain_vrrp(d != nullptr);
        return reply;
    }
    // A VRRP-only balancer: the drain is kept in the store here (the service plane keeps
    // it where there is one), so that it survives a restart as well.
    auto next = overrides().get();
    if (d && !next.balancer_drain) next.balancer_drain = Drain{.deadline = {}, .done = false, .balancer = true};
    if (!d) next.balancer_drain.reset();
    if (auto saved = overrides().commit(std::move(next)); !saved) return {false, saved.error().message + "\n"};
    balancer_drain_vrrp(d != nullptr);
    return {true, d ? "balancer drained: no virtual services; every VRRP instance fails over\n"
                    : "balancer undrained: no virtual services; VRRP instances follow their own overrides\n"};
}

ctl::Reply Daemon::with_announced_routes(ctl::Reply reply) {
    if (!reply.ok || !announce_ || !overrides().get().balancer_drain) return reply;
    const auto eol = reply.body.find('\n');
    auto progress = ctl::parse_progress(std::string_view(reply.body).substr(0, eol));
    if (!progress) return reply;
    std::string lines;
    std::set<std::string> left;
    for (const auto& prefix : announce_->installed()) {
        left.insert(fmt::format("{}", prefix));
        lines += fmt::format("announced VIP {}: route still in table {}\n", fmt::format("{}", prefix),
                             config_->global.announce.table);
    }
    if (bird_ && bird_->state().up()) {
        for (const auto& prefix : still_exported(*bird_->state().view, announce_->prefixes())) {
            left.insert(fmt::format("{}", prefix));
            lines += fmt::format("announced VIP {}: still exported by BIRD\n", fmt::format("{}", prefix));
        }
    } else if (bird_) {
        // A BIRD that cannot be read has no BGP session either: the routers have dropped
        // this next hop (after BFD's detection time), so there is nothing to wait for.
        lines += fmt::format("BIRD at {}: {}; its withdrawal is not confirmed\n", bird_->state().socket,
                             bird_->state().error.value_or("not read yet"));
    }
    progress->routes = left.size();
    reply.body = ctl::format_progress(*progress) + "\n" + (eol == std::string::npos ? "" : reply.body.substr(eol + 1)) + lines;
    return reply;
}

// The VRRP half of drain --balancer (issue #15); the service plane drains the real servers.
void Daemon::balancer_drain_vrrp(bool on) {
    if (vrrp_) vrrp_->set_balancer_drained(on);
    // Announced VIPs: withdrawn while drained. `drain --balancer --wait` (a progress
    // request) may also wait for announce_->withdrawn() and, from BIRD's control socket,
    // for the routers to drop this next hop.
    if (announce_) announce_->set_drained(on);
}

std::string Daemon::status_text() const {
    std::string bird_text;
    if (bird_)
        for (const auto& line : bird_status_lines(bird_->state())) bird_text += line + "\n";
    auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                               started_);
    return fmt::format("lvsd {}  config {}  generation {}  up {}s\nVRRP thread: {}\n{}\n{}", LVSD_VERSION,
                       config_path_, generation_, up.count(), describe(vrrp_thread_.scheduling()),
                       balancer_drained()
                           ? "balancer drained (lvsctl drain --balancer; undrain --balancer ends it)\n"
                           : "",
                       vrrp_->status_text() + "\n" +
                           (services_          ? services_->status_text()
                            : waiting_for_ipvs_ ? fmt::format("IPVS: not available in this kernel (modprobe ip_vs); "
                                                              "waiting for it, nothing started (asked again every {} s)\n",
                                                              kIpvsRetry.count())
                                                : "IPVS: no virtual services\n") +
                           sync_.status_text() + (announce_ ? announce_->status_text() : "") + bird_text);
}

std::string Daemon::status_json() const {
    DaemonStatus s;
    s.version = LVSD_VERSION;
    s.config = config_path_;
    s.generation = generation_;
    s.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    s.balancer_drained = balancer_drained();
    s.vrrp = vrrp_->status();
    s.vrrp_thread = vrrp_thread_.scheduling();
    if (services_) s.ipvs = services_->status();
    s.sync = sync_.status();
    if (announce_) s.announce = announce_->status();
    auto json = render_status_json(s);
    // The last member of the object ("bird" is the daemon's, not the status module's).
    if (const auto end = json.rfind('}'); bird_ && end != std::string::npos)
        json.insert(end, ",\"bird\":" + bird_status_json(bird_->state()));
    return json;
}

}  // namespace lvsd::daemon
