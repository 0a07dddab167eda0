#include "daemon/system.hpp"

#include <ifaddrs.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#ifdef LVSD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace lvsd::daemon {

bool has_network_privileges() {
    if (geteuid() == 0) return true;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
    return has(CAP_NET_ADMIN) && has(CAP_NET_RAW);
}

bool is_local_address(const IpAddress& address) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
    for (const ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family == AF_INET && address.is_v4()) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            const auto want = address.to_v4().to_bytes();
            if (std::memcmp(&in->sin_addr, want.data(), want.size()) == 0) return true;
        } else if (i->ifa_addr->sa_family == AF_INET6 && address.is_v6()) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            const auto want = address.to_v6().to_bytes();
            if (std::memcmp(&in6->sin6_addr, want.data(), want.size()) == 0) return true;
        }
    }
    return false;
}

void notify_systemd(std::string_view state) {
#ifdef LVSD_HAVE_SYSTEMD
    sd_notify(0, std::string(state).c_str());
#else
    (void)state;
#endif
}

}  // namespace lvsd::daemon
