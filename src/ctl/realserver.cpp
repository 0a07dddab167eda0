#include "ctl/realserver.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "host/addresses.hpp"
#include "host/monitor.hpp"

namespace lvsd::ctl {

namespace {

Result<void> write_sysctl(const std::string& key, const std::string& value) {
    std::ofstream f("/proc/sys/" + key);
    if (!(f << value << '\n') || !f.flush())
        return make_error(errno, "set {} = {}: {}", key, value, std::strerror(errno));
    return {};
}

Result<std::string> change(const std::vector<IpAddress>& vips, bool up) {
    if (vips.empty()) return make_error(0, "name at least one --vip ADDRESS");
    auto view = host::read_view();
    if (!view) return view.error();
    const host::Link* lo = view->link("lo");
    if (!lo) return make_error(ENODEV, "this host has no loopback interface \"lo\"");
    host::AddressWriter addresses;
    if (auto r = addresses.open(); !r) return r.error();
    std::string done;
    for (const auto& vip : vips) {
        Prefix host{vip, static_cast<uint8_t>(vip.is_v4() ? 32 : 128)};
        auto r = up ? addresses.add(lo->index, "lo", host, "")
                    : addresses.remove(lo->index, "lo", host);
        if (!r) return r.error();
        done += fmt::format("{} {} {} lo\n", up ? "added" : "removed", host, up ? "to" : "from");
    }
    const std::string ignore = up ? "1" : "0", announce = up ? "2" : "0";
    if (auto r = write_sysctl("net/ipv4/conf/all/arp_ignore", ignore); !r) return r.error();
    if (auto r = write_sysctl("net/ipv4/conf/all/arp_announce", announce); !r) return r.error();
    done += fmt::format("net.ipv4.conf.all.arp_ignore = {}\nnet.ipv4.conf.all.arp_announce = {}\n",
                        ignore, announce);
    return done;
}

}  // namespace

Result<std::string> realserver_up(const std::vector<IpAddress>& vips) { return change(vips, true); }
Result<std::string> realserver_down(const std::vector<IpAddress>& vips) { return change(vips, false); }

}  // namespace lvsd::ctl
