#include "daemon/connection_sync.hpp"

#include <net/if.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ipvs/client.hpp"

namespace lvsd::daemon {

ipvs::SyncDaemon wanted_sync_daemon(const config::SyncDaemon& config, vrrp::State state) {
    ipvs::SyncDaemon d;
    d.role = state == vrrp::State::Master ? ipvs::SyncRole::Master : ipvs::SyncRole::Backup;
    d.interface = config.interface;
    d.sync_id = config.syncid;
    return d;
}

std::vector<SyncStep> plan_sync(const std::vector<ipvs::SyncDaemon>& running,
                                const std::optional<ipvs::SyncDaemon>& wanted) {
    std::vector<SyncStep> steps;
    bool keep = false;
    for (const auto& r : running) {
        // The kernel reports its defaults for the tuning fields; lvsd sets none of them,
        // so only role, interface and sync id say whether this is the daemon wanted.
        if (wanted && r.role == wanted->role && r.interface == wanted->interface &&
            r.sync_id == wanted->sync_id) {
            keep = true;
            continue;
        }
        steps.push_back({SyncStep::Kind::Stop, r});
    }
    if (wanted && !keep) steps.push_back({SyncStep::Kind::Start, *wanted});
    return steps;
}

ConnectionSync::ConnectionSync() = default;
ConnectionSync::~ConnectionSync() = default;

Result<void> ConnectionSync::prepare(const std::optional<config::SyncDaemon>& config) {
    if (!config) return {};
    if (::if_nametoindex(config->interface.c_str()) == 0)
        return make_error(ENODEV, "{}:{}: global_defs.lvs_sync_daemon: no interface \"{}\"",
                          config->where.file, config->where.line, config->interface);
    if (!client_) {
        // Opening the genetlink socket changes nothing; keeping it saves the next one.
        auto client = ipvs::Client::open();
        if (!client)
            return make_error(client.error().code, "{}:{}: global_defs.lvs_sync_daemon: {}",
                              config->where.file, config->where.line, client.error().message);
        client_ = std::move(*client);
    }
    return {};
}

Result<void> ConnectionSync::apply(const std::optional<config::SyncDaemon>& config,
                                   vrrp::State state) {
    if (!config) {
        if (config_) {
            spdlog::info("IPVS connection sync: removed from the configuration, stopping");
            stop();
        }
        config_.reset();
        return {};
    }
    if (auto r = prepare(config); !r) return r;
    config_ = config;
    return converge(state);
}

void ConnectionSync::on_state(vrrp::State state) {
    if (!config_ || !client_) return;
    if (auto r = converge(state); !r)
        spdlog::error("IPVS connection sync: {}", r.error().message);
}

Result<void> ConnectionSync::converge(vrrp::State state) {
    auto running = client_->sync_daemons();
    if (!running) return running.error();
    std::optional<ipvs::SyncDaemon> wanted;
    if (config_) wanted = wanted_sync_daemon(*config_, state);
    for (const auto& step : plan_sync(*running, wanted)) {
        if (step.kind == SyncStep::Kind::Stop) {
            if (auto r = client_->stop_sync_daemon(step.daemon.role); !r) return r;
            spdlog::info("IPVS connection sync: stopped the {}", step.daemon);
            running_.reset();
        } else {
            if (auto r = client_->start_sync_daemon(step.daemon); !r) return r;
            spdlog::info("IPVS connection sync: started the {} (instance \"{}\" is {})",
                         step.daemon, config_->instance, state);
        }
    }
    running_ = wanted;
    return {};
}

void ConnectionSync::stop() {
    // No more following: the instances' own stop transitions must not restart a daemon.
    config_.reset();
    if (!client_ || !running_) return;
    if (auto r = client_->stop_sync_daemon(running_->role); !r)
        spdlog::warn("IPVS connection sync: {}", r.error().message);
    else
        spdlog::info("IPVS connection sync: stopped the {}", *running_);
    running_.reset();
}

std::string ConnectionSync::status_text() const {
    if (!config_) return "IPVS connection sync: off\n";
    if (!running_)
        return fmt::format("IPVS connection sync: not running (instance \"{}\")\n", config_->instance);
    return fmt::format("IPVS connection sync: {} on {} (syncid {}), following instance \"{}\"\n",
                       ipvs::to_string(running_->role), running_->interface, running_->sync_id,
                       config_->instance);
}

std::optional<SyncStatus> ConnectionSync::status() const {
    if (!config_) return std::nullopt;
    SyncStatus st{std::nullopt, config_->interface, config_->syncid, config_->instance};
    if (running_) st.role = std::string(ipvs::to_string(running_->role));
    return st;
}

}  // namespace lvsd::daemon
