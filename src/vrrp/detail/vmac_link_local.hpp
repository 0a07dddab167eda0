// The link-local address of an IPv6 instance's use_vmac interface as desired state:
// vmac_link_local_plan (host_facts.hpp) says what differs, this carries it out over
// rtnetlink. Like the VIPs (vip_keeper.hpp), a difference seen after the host once
// showed the wanted state was made behind lvsd's back: it is repaired and logged as such.
#pragma once

#include <string>

#include "common/result.hpp"
#include "host/addresses.hpp"
#include "host/view.hpp"
#include "vrrp/instance.hpp"

namespace lvsd::vrrp::detail {

class VmacLinkLocal {
public:
    explicit VmacLinkLocal(std::string owner) : owner_(std::move(owner)) {}

    // Opens the rtnetlink socket: only IPv6 instances with use_vmac need one.
    Result<void> open(const InstanceConfig& c);
    // The macvlan was made (again) by lvsd: what follows is not a repair.
    void created() { settled_ = false; }
    // Makes the macvlan carry what the plan wants; errors are logged. True when it wrote
    // anything (the view does not show it yet).
    bool keep(const InstanceConfig& c, const host::View& view);

private:
    std::string owner_;
    host::AddressWriter writer_;
    bool open_ = false;
    bool settled_ = false;
};

}  // namespace lvsd::vrrp::detail
