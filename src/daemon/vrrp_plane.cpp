#include "daemon/vrrp_plane.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/post.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/metrics.hpp"
#include "vrrp/host_facts.hpp"

namespace lvsd::daemon {

namespace {

std::vector<std::string> argv_of(const std::optional<config::Command>& c) {
    return c ? c->argv : std::vector<std::string>{};
}

// For people reading `lvsctl status`: when, on the wall clock, a steady_clock instant was.
std::string wall_clock(std::chrono::steady_clock::time_point t) {
    auto wall = std::chrono::system_clock::now() -
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::steady_clock::now() - t);
    return fmt::format("{:%H:%M:%S}", std::chrono::floor<std::chrono::seconds>(wall));
}

std::string age(std::chrono::steady_clock::time_point t) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t).count();
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
}

// A tracker reference's weight: its own, else the named tracker's, else `fallback` (an
// unknown name was refused when the file was loaded).
template <class Ref, class Named>
int ref_weight(const Ref& ref, const std::vector<Named>& trackers, int fallback) {
    if (ref.weight) return *ref.weight;
    auto it = std::find_if(trackers.begin(), trackers.end(), [&](const Named& t) { return t.name == ref.name; });
    return it == trackers.end() ? fallback : it->weight;
}

}  // namespace

vrrp::ScriptConfig script_config(const config::VrrpScript& s) {
    vrrp::ScriptConfig c;
    c.name = s.name;
    c.argv = s.script.argv;
    if (!s.user.empty()) {
        // util-linux's setpriv drops to the user (and its groups) right before exec.
        std::vector<std::string> prefix = {"/usr/bin/setpriv", "--reuid=" + s.user,
                                           "--regid=" + (s.group.empty() ? s.user : s.group), "--init-groups", "--"};
        if (s.group.empty())
            if (const passwd* pw = ::getpwnam(s.user.c_str())) prefix[2] = fmt::format("--regid={}", pw->pw_gid);
        c.argv.insert(c.argv.begin(), prefix.begin(), prefix.end());
    }
    c.interval = std::chrono::duration_cast<std::chrono::milliseconds>(s.interval);
    c.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout.count() ? s.timeout : s.interval);
    c.rise = s.rise;
    c.fall = s.fall;
    c.init_fail = s.init_fail;
    return c;
}

namespace {

vrrp::InstanceConfig map_instance(const config::VrrpInstance& in, const std::vector<config::VrrpScript>& scripts,
                                  const std::vector<config::VrrpTrackFile>& files,
                                  const std::vector<config::VrrpTrackProcess>& processes) {
    vrrp::InstanceConfig c;
    c.name = in.name;
    c.interface = in.interface;
    c.virtual_router_id = in.virtual_router_id;
    c.priority = in.priority;
    c.failover_priority = in.failover_priority;
    c.advert_int = in.advert_int;
    c.version = in.version;
    c.family = in.family;
    c.nopreempt = in.nopreempt;
    c.preempt_delay = in.preempt_delay;
    c.unicast_src_ip = in.unicast_src_ip;
    c.unicast_peer = in.unicast_peer;
    for (const auto& v : in.virtual_ipaddress) c.virtual_ipaddress.push_back({v.prefix, v.dev, v.label});
    for (const auto& t : in.track_interface) c.track_interface.push_back({t.name, t.weight});
    for (const auto& t : in.track_script) c.track_script.push_back({t.name, ref_weight(t, scripts, 0)});
    for (const auto& t : in.track_file) c.track_file.push_back({t.name, ref_weight(t, files, 1)});
    for (const auto& t : in.track_process) c.track_process.push_back({t.name, ref_weight(t, processes, 0)});
    if (in.track_arp_target) {
        c.track_arp_target = in.track_arp_target->targets;
        c.track_arp_interval = in.track_arp_target->interval;
        c.track_arp_fall = in.track_arp_target->fall;
        c.track_arp_weight = in.track_arp_target->weight;
    }
    c.garp_master_repeat = in.garp_master_repeat;
    c.garp_interval = in.garp_interval;
    c.garp_master_delay = in.garp_master_delay;
    c.garp_master_refresh = in.garp_master_refresh;
    c.garp_master_refresh_repeat = in.garp_master_refresh_repeat;
    c.auth_pass = in.auth_pass.value_or("");
    c.auth_ah = in.auth_ah;
    c.use_vmac = in.use_vmac;
    c.vmac_xmit_base = in.vmac_xmit_base;
    c.dont_track_primary = in.dont_track_primary;
    c.notify_master = argv_of(in.notify.master);
    c.notify_backup = argv_of(in.notify.backup);
    c.notify_fault = argv_of(in.notify.fault);
    c.notify_stop = argv_of(in.notify.stop);
    c.notify = argv_of(in.notify.any);
    return c;
}

}  // namespace

Result<vrrp::InstanceConfig> instance_config(const config::VrrpInstance& in,
                                             const std::vector<config::VrrpScript>& scripts,
                                             const std::vector<config::VrrpTrackFile>& files,
                                             const std::vector<config::VrrpTrackProcess>& processes) {
    auto c = map_instance(in, scripts, files, processes);
    if (auto r = vrrp::validate(c); !r)
        return make_error(0, "{}:{}: {}", in.where.file, in.where.line, r.error().message);
    return c;
}

std::vector<std::string> instance_problems(const config::VrrpInstance& in,
                                           const std::vector<config::VrrpScript>& scripts,
                                           const std::vector<config::VrrpTrackFile>& files,
                                           const std::vector<config::VrrpTrackProcess>& processes) {
    std::vector<std::string> out;
    for (const auto& p : vrrp::problems(map_instance(in, scripts, files, processes)))
        out.push_back(fmt::format("{}:{}: {}", in.where.file, in.where.line, p));
    return out;
}

std::vector<std::string> vrrp_host_problems(const config::Config& config, const host::View& view) {
    std::vector<std::string> out;
    for (const auto& in : config.vrrp_instances) {
        auto c = instance_config(in, config.vrrp_scripts, config.vrrp_track_files, config.vrrp_track_processes);
        if (!c) continue;  // reported by the settings check
        for (const auto& p : vrrp::check_host(*c, view)) {
            const config::Location& at = p.kind == vrrp::HostProblem::Kind::Interface ? in.interface_where
                                         : p.kind == vrrp::HostProblem::Kind::UnicastSource
                                             ? in.unicast_src_ip_where
                                             : in.virtual_ipaddress.at(p.vip).where;
            out.push_back(fmt::format("{}:{}: {}", at.file, at.line, p.message));
        }
    }
    // A track file's directory is watched (inotify): it must exist; the file need not.
    for (const auto& f : config.vrrp_track_files) {
        const std::string dir = f.file.substr(0, std::max<std::size_t>(1, f.file.rfind('/')));
        if (::access(dir.c_str(), F_OK) != 0)
            out.push_back(fmt::format("{}:{}: vrrp track file \"{}\": directory {} of {} does not exist", f.where.file,
                                      f.where.line, f.name, dir, f.file));
    }
    return out;
}

VrrpPlane::VrrpPlane(VrrpThread& thread, boost::asio::io_context& main, host::Monitor& host)
    : thread_(thread), io_(thread.io()), main_(main), scripts_(main), files_(main), processes_(main), host_(host) {
    // The trackers live on the main thread (they fork, scan /proc, read files); their
    // verdicts cross to the instances on the VRRP thread.
    processes_.on_change([this](const std::string& name, bool ok) {
        thread_.post([this, name, ok] {
            for (auto& [n, inst] : instances_) inst->process_result(name, ok);
        });
    });
    scripts_.on_change([this](const std::string& name, bool ok) {
        thread_.post([this, name, ok] {
            for (auto& [n, inst] : instances_) inst->script_result(name, ok);
        });
    });
    files_.on_change([this](const std::string& name, long value) {
        thread_.post([this, name, value] {
            for (auto& [n, inst] : instances_) inst->file_value(name, value);
        });
    });
}

VrrpPlane::~VrrpPlane() = default;

VrrpPlane::Prepared::~Prepared() {
    // Instances prepared for a reload that did not happen close their sockets where
    // they were opened.
    if (thread && !fresh.empty()) thread->call([this] { fresh.clear(); });
}

std::unique_ptr<vrrp::Instance> VrrpPlane::make(const std::string& name, const vrrp::InstanceConfig& c) {
    auto inst = std::make_unique<vrrp::Instance>(io_, host_, c, main_.get_executor());
    // The connection sync (and whoever else listens) hears of transitions on the main thread.
    inst->on_transition([this, name](vrrp::State s) {
        boost::asio::post(main_, [this, name, s] {
            if (on_transition_) on_transition_(name, s);
        });
    });
    return inst;
}

Result<std::unique_ptr<VrrpPlane::Prepared>> VrrpPlane::prepare(const config::Config& config) {
    auto p = std::make_unique<Prepared>();
    std::vector<std::string> problems;
    for (const auto& in : config.vrrp_instances) {
        auto c = instance_config(in, config.vrrp_scripts, config.vrrp_track_files, config.vrrp_track_processes);
        if (!c) problems.push_back(c.error().message);
        else p->configs.emplace(in.name, std::move(*c));
    }
    // A sync group's track_script is tracked by each of its members (keepalived).
    for (const auto& g : config.vrrp_sync_groups)
        for (const auto& member : g.group)
            if (auto it = p->configs.find(member); it != p->configs.end())
                for (const auto& t : g.track_script) {
                    auto& mine = it->second.track_script;
                    if (std::none_of(mine.begin(), mine.end(), [&](const auto& x) { return x.name == t.name; }))
                        mine.push_back({t.name, ref_weight(t, config.vrrp_scripts, 0)});
                }
    if (!problems.empty()) return make_error(0, "{}", fmt::join(problems, "\n"));
    for (const auto& g : config.vrrp_sync_groups) p->groups[g.name] = g.group;
    p->group_configs = config.vrrp_sync_groups;
    for (const auto& sc : config.vrrp_scripts) p->scripts.push_back(script_config(sc));
    for (const auto& f : config.vrrp_track_files)
        p->files.push_back({f.name, f.file, f.init_file, f.init_overwrite});
    for (const auto& tp : config.vrrp_track_processes) {
        vrrp::TrackProcessConfig c;
        c.name = tp.name;
        c.pattern.name = tp.process;
        c.pattern.args = tp.args;
        c.pattern.match = tp.param_match == "exact"     ? vrrp::ParamMatch::Exact
                          : tp.param_match == "initial" ? vrrp::ParamMatch::Initial
                          : tp.param_match == "partial" ? vrrp::ParamMatch::Partial
                                                        : vrrp::ParamMatch::None;
        c.quorum = tp.quorum;
        c.quorum_max = tp.quorum_max;
        c.delay = std::chrono::duration_cast<std::chrono::milliseconds>(tp.delay);
        p->processes.push_back(std::move(c));
    }
    // The host view and the running instances are the VRRP thread's: the rest is checked
    // and the new instances' sockets opened there.
    p->thread = &thread_;
    auto r = thread_.call([&]() -> Result<void> {
        if (auto hp = vrrp_host_problems(config, host_.view()); !hp.empty())
            return make_error(0, "{}", fmt::join(hp, "\n"));
        // Sync groups hold their members from before start(): a change to any group, or to
        // the identity of a grouped instance, restarts VRRP as a whole.
        p->restart_all = p->groups != group_members_;
        auto grouped = [&](const std::string& name) {
            for (const auto& [g, members] : p->groups)
                if (std::find(members.begin(), members.end(), name) != members.end()) return true;
            return false;
        };
        for (const auto& [name, c] : p->configs) {
            auto running = instances_.find(name);
            if (running != instances_.end() && !vrrp::reconfigurable(running->second->config(), c) && grouped(name))
                p->restart_all = true;
        }
        for (const auto& [name, c] : p->configs) {
            auto running = instances_.find(name);
            const bool keep = !p->restart_all && running != instances_.end() &&
                              vrrp::reconfigurable(running->second->config(), c);
            if (keep) continue;
            auto inst = make(name, c);
            // Sockets open next to the running instance's: both can exist at once.
            if (auto r = inst->prepare(); !r) {
                const auto& in = *std::find_if(config.vrrp_instances.begin(), config.vrrp_instances.end(),
                                               [&](const config::VrrpInstance& v) { return v.name == name; });
                return make_error(r.error().code, "{}:{}: {}", in.where.file, in.where.line, r.error().message);
            }
            p->fresh.emplace(name, std::move(inst));
        }
        return {};
    });
    if (!r) return make_error(ETIMEDOUT, "the VRRP thread did not take the new configuration up");
    if (!*r) return r->error();
    return p;
}

std::vector<std::string> VrrpPlane::commit(std::unique_ptr<Prepared> p) {
    // The trackers first, on this (the main) thread; the verdicts known now go over to
    // the instances with the rest of the change.
    scripts_.apply(p->scripts);
    if (auto r = files_.apply(p->files); !r) spdlog::error("{}", r.error().message);
    processes_.apply(p->processes);
    Verdicts known;
    for (const auto& s : p->scripts)
        if (auto ok = scripts_.ok(s.name)) known.scripts[s.name] = *ok;
    for (const auto& f : p->files)
        if (auto v = files_.value(f.name)) known.files[f.name] = *v;
    for (const auto& t : p->processes)
        if (auto ok = processes_.ok(t.name)) known.processes[t.name] = *ok;
    auto failures = thread_.call([&] { return commit_instances(*p, known); });
    if (!failures) return {"the VRRP thread did not take the new configuration up"};
    save_dropped_overrides();
    return *failures;
}

// On the VRRP thread.
std::vector<std::string> VrrpPlane::commit_instances(Prepared& p, const Verdicts& known) {
    std::vector<std::string> failures;
    if (p.restart_all) {
        if (!instances_.empty()) spdlog::warn("VRRP sync groups changed: restarting every instance");
        stop_instances();
    }
    for (auto it = instances_.begin(); it != instances_.end();) {
        if (p.configs.contains(it->first) && !p.fresh.contains(it->first)) {
            ++it;
            continue;
        }
        if (p.configs.contains(it->first))
            spdlog::warn("vrrp instance \"{}\": interface, VRID, version or family changed; restarting the instance",
                         it->first);
        else
            spdlog::info("vrrp instance \"{}\": removed from the configuration, stopping", it->first);
        it->second->stop();
        it = instances_.erase(it);
    }
    // Before a reconfigure can make an overridden instance an address owner.
    reconcile_overrides(topology_of(p));
    for (auto& [name, c] : p.configs)
        if (!p.fresh.contains(name))
            if (auto r = instances_.at(name)->reconfigure(c); !r)
                spdlog::error("vrrp instance \"{}\": {}", name, r.error().message);
    std::vector<std::string> starting;
    for (auto& [name, inst] : p.fresh) {
        starting.push_back(name);
        instances_.insert_or_assign(name, std::move(inst));
    }
    p.fresh.clear();
    if (p.restart_all) {
        group_members_ = p.groups;
        for (const auto& g : p.group_configs) {
            std::vector<vrrp::Instance*> members;
            for (const auto& m : g.group) members.push_back(instances_.at(m).get());
            vrrp::GroupNotify n{argv_of(g.notify.master), argv_of(g.notify.backup), argv_of(g.notify.fault),
                                argv_of(g.notify.stop), argv_of(g.notify.any)};
            groups_.push_back(std::make_unique<vrrp::SyncGroup>(g.name, std::move(members), std::move(n)));
        }
    }
    // New instances are overridden before they start: a held one never becomes master.
    apply_overrides();
    // Every instance learns the verdicts known now (a reload may have added a tracker).
    for (auto& [name, inst] : instances_) {
        for (const auto& t : inst->config().track_script)
            if (auto it = known.scripts.find(t.name); it != known.scripts.end()) inst->script_result(t.name, it->second);
        for (const auto& t : inst->config().track_file)
            if (auto it = known.files.find(t.name); it != known.files.end()) inst->file_value(t.name, it->second);
        for (const auto& t : inst->config().track_process)
            if (auto it = known.processes.find(t.name); it != known.processes.end())
                inst->process_result(t.name, it->second);
    }
    // Prepared, so only what cannot be foreseen fails here (and is logged).
    for (const auto& name : starting)
        if (auto r = instances_.at(name)->start(); !r) {
            spdlog::error("vrrp instance \"{}\": cannot start: {}", name, r.error().message);
            failures.push_back(fmt::format("vrrp instance \"{}\": cannot start: {}", name, r.error().message));
        }
    return failures;
}

Result<void> VrrpPlane::apply(const config::Config& config) {
    auto p = prepare(config);
    if (!p) return p.error();
    if (auto failures = commit(std::move(*p)); !failures.empty())
        return make_error(0, "{}", fmt::join(failures, "; "));
    return {};
}

void VrrpPlane::on_transition(std::function<void(const std::string&, vrrp::State)> f) {
    on_transition_ = std::move(f);
}

std::optional<vrrp::State> VrrpPlane::state(const std::string& instance) const {
    return thread_
        .call([&]() -> std::optional<vrrp::State> {
            auto it = instances_.find(instance);
            if (it == instances_.end()) return std::nullopt;
            return it->second->state();
        })
        .value_or(std::nullopt);
}

void VrrpPlane::stop() {
    scripts_.stop();
    files_.stop();
    processes_.stop();
    thread_.call([this] { stop_instances(); });
}

void VrrpPlane::stop_instances() {
    for (auto& [name, inst] : instances_) inst->stop();
    groups_.clear();
    instances_.clear();
}

std::string VrrpPlane::status_text() const {
    return thread_.call([this] { return status_text_here(); }).value_or("VRRP: the VRRP thread did not answer\n");
}

std::string VrrpPlane::status_text_here() const {
    if (instances_.empty()) return "VRRP: no instances\n";
    std::string out = "VRRP:\n";
    auto overridden = effective_overrides();
    for (const auto& [name, inst] : instances_) {
        const auto& c = inst->config();
        const auto& n = inst->counters();
        out += fmt::format("  {:<12} {:<7} since {} ({}) {} VRID {:<3} priority {:<3} effective {:<3} "
                           "adverts sent {} received {} dropped {} transitions {} VIP repairs {}{}\n",
                           name, inst->state(), wall_clock(inst->state_since()),
                           age(inst->state_since()), c.interface, c.virtual_router_id, c.priority,
                           inst->effective_priority(), n.adverts_sent, n.adverts_received,
                           n.drops(), n.transitions, n.vip_repairs,
                           inst->fault().empty() ? std::string() : "\n               fault: " + inst->fault());
        if (const auto& o = overridden[name]; o.kind != vrrp::Override::None)
            out += fmt::format("               override {} since {} ({}){}\n", vrrp::to_string(o.kind), wall_clock(o.since),
                               age(o.since), o.group.empty() ? "" : ", on sync group " + o.group);
        for (const auto& t : inst->contributions())
            out += fmt::format("               tracker {:<28} {:+d}{}\n", t.what, t.delta, t.fault ? "  FAULT" : "");
    }
    return out;
}

std::vector<VrrpInstanceStatus> VrrpPlane::status() const {
    auto out = thread_.call([this] {
        std::vector<VrrpInstanceStatus> out;
        const auto now = std::chrono::steady_clock::now();
        auto overridden = effective_overrides();
        for (const auto& [name, inst] : instances_) {
            const auto& c = inst->config();
            const auto& n = inst->counters();
            VrrpInstanceStatus st;
            st.name = name;
            st.state = vrrp::to_string(inst->state());
            st.interface = c.interface;
            st.virtual_router_id = c.virtual_router_id;
            st.priority = c.priority;
            st.adverts_sent = n.adverts_sent;
            st.adverts_received = n.adverts_received;
            st.transitions = n.transitions;
            for (size_t i = 0; i < n.dropped.size(); ++i)
                if (n.dropped[i] != 0)
                    st.dropped.emplace_back(vrrp::to_string(static_cast<vrrp::DropReason>(i)), n.dropped[i]);
            st.effective_priority = inst->effective_priority();
            st.vip_repairs = n.vip_repairs;
            if (auto source = inst->source()) st.source = fmt::format("{}", *source);
            st.fault = inst->fault();
            for (const auto& t : inst->contributions())
                st.trackers.emplace_back(TrackerStatus{t.what, t.delta, t.fault, std::nullopt});
            st.state_since_s = std::chrono::duration_cast<std::chrono::seconds>(now - inst->state_since()).count();
            if (const auto& o = overridden[name]; o.kind != vrrp::Override::None)
                st.override_ = VrrpInstanceStatus::Override{
                    std::string(vrrp::to_string(o.kind)),
                    std::chrono::duration_cast<std::chrono::seconds>(now - o.since).count(),
                    o.group.empty() ? std::nullopt : std::optional<std::string>(o.group)};
            out.push_back(std::move(st));
        }
        return out;
    });
    if (!out) return {};
    // Scripts carry their runner's counters too (the runners are this thread's).
    for (auto& st : *out)
        for (auto& ts : st.trackers)
            if (ts.tracker.rfind("script ", 0) == 0)
                if (auto runner = scripts_.status(ts.tracker.substr(7)))
                    ts.script = TrackerStatus::Script{runner->runs, runner->failures, runner->last};
    return std::move(*out);
}

std::vector<VrrpInstanceMetrics> VrrpPlane::metrics() const {
    return thread_
        .call([this] {
            std::vector<VrrpInstanceMetrics> out;
            const auto now = std::chrono::steady_clock::now();
            auto overridden = effective_overrides();
            for (const auto& [name, inst] : instances_) {
                const auto& c = inst->config();
                VrrpInstanceMetrics m;
                m.name = name;
                m.interface = c.interface;
                m.virtual_router_id = c.virtual_router_id;
                m.version = c.version;
                m.state = inst->state();
                m.priority = c.priority;
                m.effective_priority = inst->effective_priority();
                m.state_seconds = std::chrono::duration<double>(now - inst->state_since()).count();
                m.counters = inst->counters();
                m.trackers = inst->contributions();
                m.fault = !inst->fault().empty();
                if (const auto& o = overridden[name]; o.kind != vrrp::Override::None) {
                    m.override_ = o.kind;
                    m.override_seconds = std::chrono::duration<double>(now - o.since).count();
                }
                out.push_back(std::move(m));
            }
            return out;
        })
        .value_or(std::vector<VrrpInstanceMetrics>{});
}

}  // namespace lvsd::daemon
