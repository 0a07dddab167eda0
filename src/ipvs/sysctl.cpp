#include "ipvs/sysctl.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace lvsd::ipvs {

std::vector<SysctlWrite> plan_sloppy(bool announced, const std::vector<SysctlReading>& current) {
    std::vector<SysctlWrite> out;
    if (!announced) return out;
    for (const auto& r : current)
        if ((r.name == kSloppyTcp || r.name == kSloppySctp) && r.value && *r.value != 1)
            out.push_back({r.name, 1, r.value});
    return out;
}

SysctlReading IpvsSysctls::read(std::string_view name) const {
    SysctlReading r{std::string(name), std::nullopt};
    std::ifstream f(root_ + "/" + r.name);
    int v = 0;
    if (f >> v) r.value = v;
    return r;
}

Result<void> IpvsSysctls::write(std::string_view name, int value) const {
    const std::string path = root_ + "/" + std::string(name);
    std::ofstream f(path);
    if (f) f << value << '\n';
    if (f) f.flush();
    if (!f) {
        const int err = errno ? errno : EIO;
        return make_error(err, "cannot write {} to {}: {}", value, path, std::strerror(err));
    }
    return {};
}

Result<std::vector<SysctlWrite>> IpvsSysctls::keep_sloppy(bool announced) const {
    if (!announced) return std::vector<SysctlWrite>{};
    auto plan = plan_sloppy(announced, {read(kSloppyTcp), read(kSloppySctp)});
    for (const auto& w : plan)
        if (auto r = write(w.name, w.value); !r) return r.error();
    return plan;
}

}  // namespace lvsd::ipvs
