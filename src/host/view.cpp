#include "host/view.hpp"

#include <linux/if_addr.h>
#include <net/if.h>

#include <algorithm>

namespace lvsd::host {

bool Link::admin_up() const { return (flags & IFF_UP) != 0; }
bool Link::up() const { return (flags & IFF_UP) && (flags & IFF_RUNNING); }

bool Address::tentative() const { return (flags & IFA_F_TENTATIVE) != 0; }
bool Address::dad_failed() const { return (flags & IFA_F_DADFAILED) != 0; }

bool View::apply(const Change& change) {
    if (const auto* l = std::get_if<LinkChange>(&change)) {
        const int index = l->link.index;
        if (l->removed) {
            const auto before = addresses_.size();
            std::erase_if(addresses_, [&](const Address& a) { return a.ifindex == index; });
            return links_.erase(index) > 0 || addresses_.size() != before;
        }
        auto [it, fresh] = links_.try_emplace(index, l->link);
        if (fresh) return true;
        if (it->second == l->link) return false;
        it->second = l->link;
        return true;
    }
    const auto& a = std::get<AddressChange>(change);
    auto it = std::find_if(addresses_.begin(), addresses_.end(),
                           [&](const Address& x) { return x.same(a.address); });
    if (a.removed) {
        if (it == addresses_.end()) return false;
        addresses_.erase(it);
        return true;
    }
    if (it == addresses_.end()) {
        addresses_.push_back(a.address);
        return true;
    }
    if (*it == a.address) return false;
    *it = a.address;
    return true;
}

void View::clear() {
    links_.clear();
    addresses_.clear();
}

const Link* View::link(std::string_view name) const {
    for (const auto& [index, l] : links_)
        if (l.name == name) return &l;
    return nullptr;
}

const Link* View::link(int index) const {
    auto it = links_.find(index);
    return it == links_.end() ? nullptr : &it->second;
}

std::vector<Address> View::addresses_of(int ifindex) const {
    std::vector<Address> out;
    for (const auto& a : addresses_)
        if (a.ifindex == ifindex) out.push_back(a);
    return out;
}

bool View::is_local(const IpAddress& a) const {
    return std::any_of(addresses_.begin(), addresses_.end(),
                       [&](const Address& x) { return x.prefix.address == a; });
}

}  // namespace lvsd::host
