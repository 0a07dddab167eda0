// rtnetlink through libnl-route-3: VIPs (add/remove) and link state (query + events).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/net.hpp"
#include "common/result.hpp"

struct nl_sock;

namespace lvsd::vrrp::detail {

class AddressManager {
public:
    AddressManager() = default;
    ~AddressManager();
    AddressManager(const AddressManager&) = delete;
    AddressManager& operator=(const AddressManager&) = delete;

    Result<void> open();
    // Already present counts as success; so does removing an absent address.
    Result<void> add(int ifindex, const std::string& ifname, const Prefix& p, const std::string& label);
    Result<void> remove(int ifindex, const std::string& ifname, const Prefix& p);

private:
    nl_sock* sock_ = nullptr;
};

struct LinkState {
    int ifindex = 0;
    bool exists = false;
    bool up = false;  // administratively up and carrier (IFF_UP and IFF_RUNNING)
};

// Queries a link now (synchronously).
Result<LinkState> query_link(const std::string& name);

// Subscribes to RTNLGRP_LINK and reports every link message as (ifindex, name, up).
class LinkMonitor {
public:
    using Callback = std::function<void(int ifindex, const std::string& name, bool up)>;
    LinkMonitor(boost::asio::io_context& io, Callback cb);
    ~LinkMonitor();
    LinkMonitor(const LinkMonitor&) = delete;
    LinkMonitor& operator=(const LinkMonitor&) = delete;

    Result<void> start();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp::detail
