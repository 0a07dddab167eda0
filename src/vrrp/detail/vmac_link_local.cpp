#include "vrrp/detail/vmac_link_local.hpp"

#include <spdlog/spdlog.h>

#include "vrrp/host_facts.hpp"

namespace lvsd::vrrp::detail {

Result<void> VmacLinkLocal::open(const InstanceConfig& c) {
    if (open_ || c.use_vmac.empty() || family_of(c.virtual_ipaddress.front().prefix.address) != Family::V6) return {};
    if (auto r = writer_.open(); !r) return r;
    open_ = true;
    return {};
}

bool VmacLinkLocal::keep(const InstanceConfig& c, const host::View& view) {
    if (!open_) return false;
    const auto ops = vmac_link_local_plan(c, view);
    if (ops.empty()) {
        settled_ = true;
        return false;
    }
    for (const auto& op : ops) {
        auto r = op.kind == VipOp::Kind::Add ? writer_.add(op.ifindex, op.dev, op.prefix, {})
                                             : writer_.remove(op.ifindex, op.dev, op.prefix);
        const char* done = op.kind == VipOp::Kind::Add ? "added" : "removed";
        if (!r)
            spdlog::error("{}: {}", owner_, r.error().message);
        else if (settled_)
            spdlog::warn("{}: link-local {} on {} changed behind lvsd's back ({}): {} again", owner_, op.prefix, op.dev,
                         op.why, done);
        else
            spdlog::info("{}: link-local {} on {} {} ({})", owner_, op.prefix, op.dev, done, op.why);
    }
    settled_ = false;
    return true;
}

}  // namespace lvsd::vrrp::detail
