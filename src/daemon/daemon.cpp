#include "daemon/daemon.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "ipvs/client.hpp"
#include "daemon/ownership_file.hpp"
#include "daemon/status.hpp"
#include "daemon/system.hpp"

namespace asio = boost::asio;

namespace lvsd::daemon {

std::vector<std::string> engine_problems(const config::Config& config) {
    std::vector<std::string> problems;
    for (const auto& in : config.vrrp_instances)
        for (auto& p : instance_problems(in, config.vrrp_scripts, config.vrrp_track_files, config.vrrp_track_processes))
            problems.push_back(std::move(p));
    for (const auto& vs : config.virtual_servers)
        for (const auto& rs : vs.real_servers)
            for (const auto& hc : rs.checks) {
                const auto& where = hc.where;
                if (auto r = healthcheck::validate(check_spec(vs, rs, hc)); !r)
                    problems.push_back(
                        fmt::format("{}:{}: {}", where.file, where.line, r.error().message));
                if (hc.bind_port)
                    problems.push_back(fmt::format(
                        "{}:{}: {}: bind_port is not supported by the health checker yet",
                        where.file, where.line, config::check_name(hc)));
            }
    return problems;
}

std::vector<std::string> run_time_notes(const config::Config& config) {
    std::vector<std::string> notes;
    for (const auto& in : config.vrrp_instances) {
        if (in.unicast_peer.empty()) continue;
        notes.push_back(fmt::format(
            "{}:{}: note: vrrp instance \"{}\": that {} unicast peer{} answer{} can only be seen at run time (lvsctl "
            "status: adverts received); the interface{} checked against the host at start and on every reload",
            in.where.file, in.where.line, in.name, in.unicast_peer.size(), in.unicast_peer.size() == 1 ? "" : "s",
            in.unicast_peer.size() == 1 ? "s" : "", in.unicast_src_ip ? " and unicast_src_ip are" : " is"));
    }
    return notes;
}

LoadedConfig load_config(const std::string& path) {
    auto loaded = config::load_file(path);
    LoadedConfig out;
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics()) out.problems.push_back(config::to_string(d));
        return out;
    }
    // What the file says is valid, but what the engines cannot do yet is refused here,
    // so that `lvsd -t`, start and reload agree.
    out.problems = engine_problems(*loaded.config());
    if (out.problems.empty()) out.config = loaded.config();
    return out;
}

Daemon::Daemon(std::string config_path, std::string control_socket_path,
               std::shared_ptr<const config::Config> initial)
    : config_path_(std::move(config_path)),
      control_socket_path_(std::move(control_socket_path)),
      config_(std::move(initial)) {}

Daemon::~Daemon() { vrrp_thread_.stop(); }

Result<void> Daemon::ensure_service_plane(const config::Config& config) {
    ipvs_unavailable_ = false;
    if (services_ || config.virtual_servers.empty()) return {};
    auto client = ipvs::Client::open();
    if (!client) {
        ipvs_unavailable_ = client.error().code == ENOENT;
        return client.error();
    }
    services_ = std::make_unique<ServicePlane>(io_.get_executor(), std::move(*client));
    services_->keep_ownership_in(ownership_file_for(control_socket_path_));
    services_->keep_overrides_in(overrides());
    return {};
}

OverrideStore& Daemon::overrides() {
    if (!overrides_) overrides_.emplace(overrides_file_for(control_socket_path_));
    return *overrides_;
}

int Daemon::run() {
    // Before anything is touched: a second lvsd for the same socket must change nothing.
    auto lock = InstanceLock::acquire(lock_file_for(control_socket_path_));
    if (!lock) {
        spdlog::critical("cannot start: {}", lock.error().message);
        return 1;
    }
    lock_.emplace(std::move(*lock));
    (void)overrides();  // read before any plane starts, and logged once
    // The host first: every reload is checked against it, and the instances follow it.
    auto started = vrrp_thread_.call([this] { return host_.start(); });
    if (!started || !*started) {
        spdlog::critical("cannot start: {}", started ? started->error().message : "the VRRP thread did not answer");
        return 1;
    }
    // Real time (or not) before the first advert.
    vrrp_thread_.schedule(config_->global.vrrp_scheduling, io_);
    vrrp_ = std::make_unique<VrrpPlane>(vrrp_thread_, io_, host_);
    vrrp_->keep_overrides_in(overrides());
    announce_ = std::make_unique<AnnouncePlane>(io_.get_executor());
    announce_->set_drained(overrides().get().balancer_drain.has_value());
    announce_->set_verdicts([this](const config::VirtualServer& vs) -> AnnounceVerdict {
        if (!services_) return {};
        return {services_->quorum_verdict(vs), services_->takes_new_connections(vs)};
    });
    vrrp_->on_transition([this](const std::string& instance, vrrp::State state) {
        if (sync_.config() && sync_.config()->instance == instance) sync_.on_state(state);
    });
    // The control socket first: it can fail for reasons of its own, and nothing has been
    // touched yet then. Should its directory be removed under it, the lock is taken
    // again before the socket is bound again (a second lvsd may have started meanwhile:
    // then it keeps the path), and the ownership file is written again.
    auto rebind = [this]() -> Result<void> {
        const auto path = lock_file_for(control_socket_path_);
        if (!lock_ || !lock_->holds(path)) {
            auto again = InstanceLock::acquire(path);
            if (!again) return again.error();
            lock_.emplace(std::move(*again));
        }
        if (services_) services_->rewrite_ownership();
        return {};
    };
    auto control = ctl::ControlServer::start(io_.get_executor(), control_socket_path_,
                                             [this](std::string_view r) { return on_request(r); }, rebind);
    if (!control) {
        spdlog::critical("cannot start: {}", control.error().message);
        return 1;
    }
    control_ = std::move(*control);
    if (!start_engines() && !waiting_for_ipvs_) return 1;
    asio::co_spawn(io_, handle_signals(), asio::detached);
    // Ready also while waiting for IPVS: the control socket answers, and systemd's
    // status line says what lvsd waits for.
    if (waiting_for_ipvs_) notify_systemd("READY=1\nSTATUS=waiting for IPVS (modprobe ip_vs)");
    io_.run();
    vrrp_thread_.stop();
    spdlog::info("lvsd stopped");
    return exit_code_;
}

bool Daemon::start_engines() {
    if (auto r = apply(config_); !r) {
        // No IPVS (ip_vs neither loaded nor loadable): nothing has been started, and
        // nothing will until it is there. Not starting VRRP either keeps a balancer that
        // cannot balance from taking the VIP; the peer keeps serving. Said once, not
        // on every retry.
        if (ipvs_unavailable_) {
            if (!waiting_for_ipvs_)
                spdlog::error("{}; lvsd waits for it: nothing is started (no VRRP instance, so the peer keeps the "
                              "VIP) until it is there, asked again every {} s and on SIGHUP",
                              r.error().message, kIpvsRetry.count());
            waiting_for_ipvs_ = true;
            // Nor does it stay in the ECMP set through routes an earlier run left.
            announce_->withdraw_leftovers(*config_);
            wait_for_ipvs();
            return false;
        }
        spdlog::critical("cannot start: {}", r.error().message);
        // Instances that did start hand over and remove their VIPs.
        stop();
        exit_code_ = 1;
        io_.stop();  // when the loop runs already (a retry): it ends, and lvsd with it
        return false;
    }
    if (waiting_for_ipvs_) spdlog::info("IPVS is available now; starting");
    waiting_for_ipvs_ = false;
    ipvs_retry_.cancel();
    running_ = true;
    spdlog::info("lvsd {} started with {} (generation {})", LVSD_VERSION, config_path_, generation_);
    notify_systemd("READY=1\nSTATUS=");
    return true;
}

void Daemon::wait_for_ipvs() {
    ipvs_retry_.expires_after(kIpvsRetry);
    ipvs_retry_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || !waiting_for_ipvs_) return;
        start_engines();
    });
}

asio::awaitable<void> Daemon::handle_signals() {
    asio::signal_set signals(co_await asio::this_coro::executor, SIGHUP, SIGTERM, SIGINT);
    for (;;) {
        auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        if (signo == SIGHUP) {
            (void)reload();
            continue;
        }
        spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
        exit_code_ = 0;
        stop();
        co_return;
    }
}

ctl::Reply Daemon::reload() {
    notify_systemd("RELOADING=1");
    spdlog::info("re-reading {}", config_path_);
    auto loaded = load_config(config_path_);
    ctl::Reply reply;
    if (loaded.config && waiting_for_ipvs_) {
        // Nothing runs yet: the new file is simply the one to start with.
        config_ = std::move(loaded.config);
        const bool started = start_engines();
        reply = {started, started ? fmt::format("IPVS is available now: started (generation {})\n", generation_)
                                  : waiting_for_ipvs_ ? "IPVS is still not available in this kernel (modprobe ip_vs): "
                                                        "the new file will be started with once it is\n"
                                                      : "cannot start: see the log\n"};
    } else if (!loaded.config) {
        // One line, so that an operator grepping the journal sees the whole verdict.
        auto problems = fmt::format("{}", fmt::join(loaded.problems, "; "));
        spdlog::error("reload rejected, keeping the running configuration: {}", problems);
        ++reloads_failed_;
        last_reload_succeeded_ = false;
        reply = {false, fmt::format("reload rejected, the running configuration is kept:\n{}\n",
                                    fmt::join(loaded.problems, "\n"))};
    } else if (auto applied = apply(loaded.config); !applied) {
        spdlog::error("reload rejected, keeping the running configuration: {}",
                      applied.error().message);
        ++reloads_failed_;
        last_reload_succeeded_ = false;
        reply = {false, fmt::format("reload rejected, the running configuration is kept:\n{}\n",
                                    applied.error().message)};
    } else {
        // The socket is where lvsctl finds this lvsd, and its lock and state files sit
        // beside it: moving it under a running daemon would lose both, so it waits.
        std::string later;
        if (config_ && loaded.config->global.control_socket != config_->global.control_socket)
            later = fmt::format("global_defs.control_socket changed to {}: it takes effect when lvsd restarts "
                                "(until then the socket, its lock and the overrides stay at {})",
                                loaded.config->global.control_socket, control_socket_path_);
        config_ = std::move(loaded.config);
        ++generation_;
        ++reloads_succeeded_;
        last_reload_succeeded_ = true;
        spdlog::info("configuration reloaded (generation {})", generation_);
        if (!later.empty()) spdlog::warn("{}", later);
        reply = {true, fmt::format("configuration reloaded (generation {})\n{}", generation_,
                                   later.empty() ? "" : later + "\n")};
    }
    notify_systemd("READY=1");
    return reply;
}

// A transaction: every step that can fail (metrics bind, VRRP checks against the host
// and sockets, IPVS availability, connection sync) runs before anything changes; then
// every engine takes the new config. A failure leaves everything exactly as it was.
Result<void> Daemon::apply(const std::shared_ptr<const config::Config>& config) {
    PendingMetrics metrics;
    if (auto r = prepare_metrics(*config, metrics); !r) return r;
    const bool new_service_plane = !services_;
    auto failed = [&](Result<void> r) {
        roll_back_metrics(metrics);
        if (new_service_plane) services_.reset();
        return r;
    };
    // A VIP of this config counts as ours: the backup holds it only once it is master.
    // (The host view is the VRRP thread's.)
    auto is_ours = [&](const IpAddress& a) {
        for (const auto& in : config->vrrp_instances)
            for (const auto& v : in.virtual_ipaddress)
                if (v.prefix.address == a) return true;
        return host_.view().is_local(a);
    };
    auto checked = vrrp_thread_.call([&] { return check_against_host(*config, is_ours); });
    if (!checked) return failed(make_error(ETIMEDOUT, "the VRRP thread did not answer"));
    if (!*checked) return failed(*checked);
    if (auto r = AnnouncePlane::check_against_host(*config); !r) return failed(r);
    if (auto r = ensure_service_plane(*config); !r) return failed(r);
    auto vrrp = vrrp_->prepare(*config);
    if (!vrrp) return failed(vrrp.error());
    const auto& sync = config->global.lvs_sync_daemon;
    if (auto r = sync_.prepare(sync); !r) return failed(r);

    // Nothing below fails for a reason the checks above could have seen.
    // At start an instance that cannot start is fatal (systemd shows it); on a reload the
    // old instances are gone by now, and the failure is logged.
    if (auto failures = vrrp_->commit(std::move(*vrrp)); !failures.empty() && !running_)
        return make_error(0, "{}", fmt::join(failures, "; "));
    if (services_) {
        services_->on_quorum_change([this] {
            if (announce_) announce_->update("health verdict");
        });
        if (auto r = services_->apply(config); !r)
            spdlog::error("IPVS: {}", r.error().message);
    }
    if (auto r = announce_->apply(config); !r) spdlog::error("announce: {}", r.error().message);
    const bool announcing = std::ranges::any_of(config->virtual_servers, [](const auto& vs) { return vs.announce; });
    if (!announcing) {
        bird_.reset();
    } else if (!bird_ || bird_->state().socket != config->global.announce.bird_socket) {
        // Once a second: a read takes about a millisecond, and drain --balancer --wait
        // ends no sooner than the read after BIRD's withdrawal.
        bird_ = std::make_unique<BirdWatch>(io_, config->global.announce.bird_socket, std::chrono::seconds(1));
        bird_->start();
    }
    if (auto r = sync_.apply(sync, sync ? vrrp_->state(sync->instance).value_or(vrrp::State::Initialize)
                                        : vrrp::State::Initialize);
        !r)
        spdlog::error("IPVS connection sync: {}", r.error().message);
    commit_metrics(metrics);
    if (running_) vrrp_thread_.schedule(config->global.vrrp_scheduling, io_);
    return {};
}

Result<void> Daemon::prepare_metrics(const config::Config& config, PendingMetrics& pending) {
    const auto& want = config.global.metrics_listen;
    std::optional<config::Endpoint> have;
    if (metrics_) have = metrics_->endpoint();
    if (want == have) return {};
    pending.changed = true;
    if (metrics_) pending.carried = metrics_->http();
    if (!want) return {};
    auto collect = [this](const HttpMetrics& http) { return scrape(http); };
    auto next = MetricsServer::start(io_.get_executor(), *want, collect, {}, pending.carried);
    // The old socket can hold the port the new one needs (0.0.0.0:9100 -> 192.0.2.1:9100):
    // then it is closed first, and reopened should the reload fail after all.
    if (!next && next.error().code == EADDRINUSE && have && have->port == want->port) {
        metrics_->stop();
        pending.freed = have;
        next = MetricsServer::start(io_.get_executor(), *want, collect, {}, pending.carried);
    }
    if (!next) {
        roll_back_metrics(pending);
        const auto& where = config.global.metrics_listen_where;
        return make_error(next.error().code, "{}:{}: global_defs.metrics_listen: {}", where.file, where.line,
                          next.error().message);
    }
    pending.next = std::move(*next);
    return {};
}

void Daemon::commit_metrics(PendingMetrics& pending) {
    if (!pending.changed) return;
    if (metrics_) {
        metrics_->stop();
        spdlog::info("metrics: no longer serving on {}",
                     format_endpoint(metrics_->endpoint().address, metrics_->endpoint().port));
    }
    metrics_ = std::move(pending.next);
    if (metrics_)
        spdlog::info("metrics: serving Prometheus metrics on http://{}/metrics",
                     format_endpoint(metrics_->endpoint().address, metrics_->endpoint().port));
}

void Daemon::roll_back_metrics(PendingMetrics& pending) {
    pending.next.reset();
    if (!pending.freed) return;
    auto again = MetricsServer::start(io_.get_executor(), *pending.freed,
                                      [this](const HttpMetrics& http) { return scrape(http); }, {},
                                      pending.carried);
    if (again) {
        metrics_ = std::move(*again);
    } else {
        spdlog::error("metrics: cannot listen on {} again: {}",
                      format_endpoint(pending.freed->address, pending.freed->port), again.error().message);
        metrics_.reset();
    }
    pending.freed.reset();
}

void Daemon::stop() {
    notify_systemd("STOPPING=1");
    waiting_for_ipvs_ = false;
    ipvs_retry_.cancel();
    if (control_) control_->stop();
    if (metrics_) metrics_->stop();
    // The sync daemon goes first, so that the instances' stop transitions below do not
    // switch it to backup on the way out.
    sync_.stop();
    if (vrrp_) vrrp_->stop();
    // Announced routes go (BIRD withdraws them, the routers drop this next hop); the VIP
    // addresses stay, like the IPVS table, for the flows still arriving meanwhile.
    if (announce_) announce_->stop();
    if (bird_) bird_->stop();
    vrrp_thread_.call([this] { host_.stop(); });
    vrrp_thread_.stop_watching();
    // The IPVS table stays as it is: a restart adopts it without dropping a connection,
    // and the standby holds the same table anyway (DESIGN.md). Checks and timers stop.
    services_.reset();
}

}  // namespace lvsd::daemon
