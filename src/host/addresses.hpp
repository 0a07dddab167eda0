// Adding and removing addresses over rtnetlink (libnl-route-3): the VIPs of a VRRP
// instance, and those a DSR real server holds on its loopback (`lvsctl realserver`).
// Writes only; what is on the host is read from the View (monitor.hpp).
#pragma once

#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

struct nl_sock;

namespace lvsd::host {

class AddressWriter {
public:
    AddressWriter() = default;
    ~AddressWriter();
    AddressWriter(const AddressWriter&) = delete;
    AddressWriter& operator=(const AddressWriter&) = delete;

    Result<void> open();
    // Adds `p` to the interface (IPv6 without duplicate address detection, so that a VIP
    // is usable the moment it is added). Already present counts as success. `label`:
    // IPv4 only, empty for none. Errors name the address, the interface and the reason.
    Result<void> add(int ifindex, const std::string& ifname, const Prefix& p, const std::string& label);
    // Removing an absent address, or one of a vanished interface, counts as success.
    Result<void> remove(int ifindex, const std::string& ifname, const Prefix& p);

private:
    nl_sock* sock_ = nullptr;
};

}  // namespace lvsd::host
