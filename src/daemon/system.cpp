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

void notify_systemd(std::string_view state) {
#ifdef LVSD_HAVE_SYSTEMD
    sd_notify(0, std::string(state).c_str());
#else
    (void)state;
#endif
}

}  // namespace lvsd::daemon
