// The VRRP half of the daemon: one vrrp::Instance per configured vrrp_instance, tied
// together by their sync groups. Reloads are applied in place where the instance's
// identity (interface, VRID, version, family) is unchanged, so the VIP never moves
// because of a reload (keepalived's users lose it when a reload outlasts three adverts).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "vrrp/instance.hpp"

namespace lvsd::daemon {

struct VrrpInstanceMetrics;

// The instance as the VRRP engine takes it. Pure; errors name the instance, the key and
// the config line for what the engine does not support yet.
Result<vrrp::InstanceConfig> instance_config(const config::VrrpInstance& in);

class VrrpPlane {
public:
    explicit VrrpPlane(boost::asio::io_context& io) : io_(io) {}
    ~VrrpPlane();

    // Starts, reconfigures or stops instances to match `config`. Every instance's
    // settings are checked first, and a problem there changes nothing; a failure to
    // start an instance (say, its interface is gone) is returned as it happens.
    Result<void> apply(const config::Config& config);
    // Stops every instance: a master sends priority 0 (RFC 5798 §6.4.3) so that the
    // backup takes over at once, and removes its VIPs.
    void stop();

    // Called after every transition of every instance, with the instance's name: the
    // connection sync follows one instance's state this way. Survives restarts.
    void on_transition(std::function<void(const std::string&, vrrp::State)> f);
    // The instance's state, or nothing when no such instance runs.
    std::optional<vrrp::State> state(const std::string& instance) const;

    std::string status_text() const;
    std::string status_json() const;
    // Every instance's state, priorities and counters for the metrics endpoint.
    std::vector<VrrpInstanceMetrics> metrics() const;

private:
    using Groups = std::map<std::string, std::vector<std::string>>;  // group -> members
    Result<void> restart_all(const config::Config& config,
                             std::map<std::string, vrrp::InstanceConfig> configs);
    void add(const std::string& name, const vrrp::InstanceConfig& c);

    boost::asio::io_context& io_;
    std::map<std::string, std::unique_ptr<vrrp::Instance>> instances_;
    std::vector<std::unique_ptr<vrrp::SyncGroup>> groups_;
    Groups group_members_;
    std::function<void(const std::string&, vrrp::State)> on_transition_;
};

}  // namespace lvsd::daemon
