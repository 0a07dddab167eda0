#include "ctl/realserver.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "ctl/realserver_plan.hpp"
#include "host/addresses.hpp"
#include "host/monitor.hpp"

namespace lvsd::ctl {

namespace {

Result<void> write_sysctl(const std::string& key, int value) {
    std::ofstream f("/proc/sys/" + key);
    if (!(f << value << '\n') || !f.flush())
        return make_error(errno, "set {} = {}: {}", key, value, std::strerror(errno));
    return {};
}

Result<std::string> change(const std::vector<IpAddress>& vips, bool up) {
    auto view = host::read_view();
    if (!view) return view.error();
    const host::Link* lo = view->link("lo");
    if (!lo) return make_error(ENODEV, "this host has no loopback interface \"lo\"");
    std::vector<Prefix> on_lo;
    for (const auto& a : view->addresses_of(lo->index)) on_lo.push_back(a.prefix);
    const RealserverPlan plan = plan_realserver(up, vips, on_lo);

    std::string done;
    for (const auto& n : plan.notes) done += n + "\n";
    if (!plan.add.empty() || !plan.remove.empty()) {
        host::AddressWriter addresses;
        if (auto r = addresses.open(); !r) return r.error();
        for (const auto& p : plan.add) {
            if (auto r = addresses.add(lo->index, "lo", p, ""); !r) return r.error();
            done += fmt::format("{} added to lo\n", p);
        }
        for (const auto& p : plan.remove) {
            if (auto r = addresses.remove(lo->index, "lo", p); !r) return r.error();
            done += fmt::format("{} removed from lo\n", p);
        }
    }
    if (plan.arp) {
        if (auto r = write_sysctl("net/ipv4/conf/all/arp_ignore", plan.arp->arp_ignore); !r) return r.error();
        if (auto r = write_sysctl("net/ipv4/conf/all/arp_announce", plan.arp->arp_announce); !r) return r.error();
        done += fmt::format("net.ipv4.conf.all.arp_ignore = {}\nnet.ipv4.conf.all.arp_announce = {}\n",
                            plan.arp->arp_ignore, plan.arp->arp_announce);
    }
    return done;
}

}  // namespace

Result<std::string> realserver_up(const std::vector<IpAddress>& vips) { return change(vips, true); }
Result<std::string> realserver_down(const std::vector<IpAddress>& vips) { return change(vips, false); }

}  // namespace lvsd::ctl
