// The host as lvsd sees it: links and addresses (both families), kept from rtnetlink
// messages (monitor.hpp). Pure: a View changes only through apply(), so the engines'
// decisions about the host are unit-tested with plain values. Interfaces are found by
// name and re-resolved on every change: an index is never cached across events, because
// a link deleted and created again under the same name gets a new index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "common/net.hpp"

namespace lvsd::host {

struct Link {
    int index = 0;     // the kernel's ifindex, > 0
    std::string name;  // at most 15 bytes (IFNAMSIZ - 1)
    unsigned flags = 0;  // IFF_* of ifinfomsg.ifi_flags

    bool admin_up() const;
    // Administratively up and with carrier (IFF_UP and IFF_RUNNING): it can carry packets.
    bool up() const;
    friend bool operator==(const Link&, const Link&) = default;
};

struct Address {
    int ifindex = 0;
    Prefix prefix;        // the local address (IFA_LOCAL, else IFA_ADDRESS) and its length
    std::string label;    // IPv4 only (IFA_LABEL); the interface's name when none was given
    uint32_t flags = 0;   // IFA_F_* (IFA_FLAGS when present, else ifaddrmsg.ifa_flags)
    uint8_t scope = 0;    // RT_SCOPE_*

    // IPv6 duplicate address detection still running, or failed (RFC 4862 §5.4): the
    // address cannot be used as a source yet (or ever).
    bool tentative() const;
    bool dad_failed() const;
    bool usable() const { return !tentative() && !dad_failed(); }
    // Identity as the kernel keys addresses: interface, address and prefix length.
    bool same(const Address& o) const {
        return ifindex == o.ifindex && prefix == o.prefix;
    }
    friend bool operator==(const Address&, const Address&) = default;
};

// One decoded rtnetlink notification or dump entry (RTM_NEWLINK/DELLINK/NEWADDR/DELADDR).
struct LinkChange {
    Link link;
    bool removed = false;
    friend bool operator==(const LinkChange&, const LinkChange&) = default;
};
struct AddressChange {
    Address address;
    bool removed = false;
    friend bool operator==(const AddressChange&, const AddressChange&) = default;
};
using Change = std::variant<LinkChange, AddressChange>;

class View {
public:
    // Applies one change; true when the view is different afterwards. A link removed
    // takes its addresses with it (the kernel does not always report each one).
    bool apply(const Change& change);
    void clear();

    const Link* link(std::string_view name) const;  // null: no such interface now
    const Link* link(int index) const;
    const std::map<int, Link>& links() const { return links_; }
    const std::vector<Address>& addresses() const { return addresses_; }
    std::vector<Address> addresses_of(int ifindex) const;
    // Whether `a` is configured on any interface of the host (any prefix length).
    bool is_local(const IpAddress& a) const;

    friend bool operator==(const View&, const View&) = default;

private:
    std::map<int, Link> links_;
    std::vector<Address> addresses_;  // in the order the kernel reported them
};

}  // namespace lvsd::host

template <>
struct fmt::formatter<lvsd::host::Address> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::host::Address& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(
            fmt::format("{} (ifindex {}{}{})", a.prefix, a.ifindex,
                        a.label.empty() ? "" : ", label ", a.label),
            ctx);
    }
};
