#include "daemon/status.hpp"

#include <nlohmann/json.hpp>

namespace lvsd::daemon {
namespace {

// Insertion order: the fields come out in the order the README documents them.
using Json = nlohmann::ordered_json;

template <class T>
Json or_null(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json to_json(const TrackerStatus& t) {
    Json j{{"tracker", t.tracker}, {"delta", t.delta}, {"fault", t.fault}};
    if (t.script) {
        j["runs"] = t.script->runs;
        j["failures"] = t.script->failures;
        j["last"] = t.script->last;
    }
    return j;
}

Json to_json(const VrrpInstanceStatus& i) {
    Json dropped = Json::object();
    for (const auto& [reason, n] : i.dropped) dropped[reason] = n;
    Json trackers = Json::array();
    for (const auto& t : i.trackers) trackers.push_back(to_json(t));
    Json over = nullptr;
    if (i.override_)
        over = Json{{"kind", i.override_->kind}, {"since_s", i.override_->since_s}, {"group", or_null(i.override_->group)}};
    return Json{{"name", i.name},
                {"state", i.state},
                {"interface", i.interface},
                {"virtual_router_id", i.virtual_router_id},
                {"priority", i.priority},
                {"adverts_sent", i.adverts_sent},
                {"adverts_received", i.adverts_received},
                {"transitions", i.transitions},
                {"dropped", std::move(dropped)},
                {"effective_priority", i.effective_priority},
                {"vip_repairs", i.vip_repairs},
                {"source", or_null(i.source)},
                {"fault", i.fault},
                {"trackers", std::move(trackers)},
                {"state_since_s", i.state_since_s},
                {"override", std::move(over)}};
}

Json to_json(const OverrideStatus& o) {
    return Json{{"drain", or_null(o.drain)},
                {"drain_timeout_s", or_null(o.drain_timeout_s)},
                {"drain_balancer", o.drain_balancer},
                {"disabled", o.disabled},
                {"weight", or_null(o.weight)}};
}

Json to_json(const RealServerStatus& r) {
    Json last = nullptr;
    if (r.last_probe)
        last = Json{{"ok", r.last_probe->ok}, {"reason", r.last_probe->reason}, {"latency_us", r.last_probe->latency_us}};
    return Json{{"address", r.address},
                {"port", r.port},
                {"healthy", r.healthy},
                {"checked", r.checked},
                {"weight", or_null(r.weight)},
                {"last_probe", std::move(last)},
                {"active_connections", or_null(r.active_connections)},
                {"inactive_connections", or_null(r.inactive_connections)},
                {"probes", or_null(r.probes)},
                {"override", r.override_state ? to_json(*r.override_state) : Json(nullptr)}};
}

Json to_json(const VirtualServiceStatus& v) {
    Json reals = Json::array();
    for (const auto& r : v.real_servers) reals.push_back(to_json(r));
    return Json{{"service", v.service},   {"scheduler", v.scheduler}, {"in_kernel", v.in_kernel},
                {"group", or_null(v.group)}, {"quorum", v.quorum},       {"real_servers", std::move(reals)}};
}

Json to_json(const ServicePlaneStatus& p) {
    Json services = Json::array();
    for (const auto& v : p.virtual_services) services.push_back(to_json(v));
    return Json{{"reconciles", p.reconciles},
                {"ops_sent", p.ops_sent},
                {"ops_failed", p.ops_failed},
                {"virtual_services", std::move(services)},
                {"balancer_drained", p.balancer_drained}};
}

Json to_json(const SyncStatus& s) {
    return Json{{"role", or_null(s.role)}, {"interface", s.interface}, {"syncid", s.syncid}, {"instance", s.instance}};
}

Json to_json(const SchedulingStatus& s) {
    return Json{{"policy", s.policy},
                {"priority", s.priority},
                {"wanted_priority", s.wanted_priority},
                {"demoted", s.demoted},
                {"rlimit_rttime_us", s.rlimit_rttime_us},
                {"memory_locked", s.memory_locked},
                {"problem", s.problem.empty() ? Json(nullptr) : Json(s.problem)}};
}

Json to_json(const AnnounceStatus& s) {
    Json vips = Json::array();
    for (const auto& v : s.vips)
        vips.push_back(Json{{"vip", v.vip}, {"state", v.state}, {"why", v.why}, {"route", v.route}, {"address", v.address}});
    return Json{{"table", s.table},       {"protocol", s.protocol}, {"interface", s.interface},
                {"drained", s.drained},   {"problem", s.problem.empty() ? Json(nullptr) : Json(s.problem)},
                {"repairs", s.repairs},   {"vips", std::move(vips)}};
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::string render_status_json(const DaemonStatus& s) {
    Json vrrp = Json::array();
    for (const auto& i : s.vrrp) vrrp.push_back(to_json(i));
    Json j{{"version", s.version},
           {"config", s.config},
           {"generation", s.generation},
           {"uptime_s", s.uptime_s},
           {"balancer_drained", s.balancer_drained},
           {"vrrp", std::move(vrrp)},
           {"ipvs", s.ipvs ? to_json(*s.ipvs) : Json(nullptr)},
           {"sync", s.sync ? to_json(*s.sync) : Json(nullptr)},
           {"vrrp_thread", to_json(s.vrrp_thread)},
           {"announce", s.announce ? to_json(*s.announce) : Json(nullptr)}};
    return dump(j) + "\n";
}

std::string render_status_json(const ServicePlaneStatus& s) { return dump(to_json(s)); }

}  // namespace lvsd::daemon
