// The kernel's IPVS table in memory, for netns tests of the daemon's planes on a host
// kernel without IPVS: every op the reconciler sends is applied to `table` and
// acknowledged, and a dump returns it. Everything else in those tests is real.
#pragma once

#include <span>
#include <vector>

#include "ipvs/reconcile.hpp"

namespace lvsd::testing {

class MemoryIpvs final : public ipvs::Backend {
public:
    explicit MemoryIpvs(ipvs::Table& table) : table_(table) {}
    Result<ipvs::Table> dump() override { return table_; }
    std::vector<Result<void>> apply(std::span<const ipvs::Op> ops) override {
        std::vector<Result<void>> out;
        for (const auto& op : ops) {
            ipvs::apply_to(table_, op);
            out.emplace_back();
        }
        return out;
    }

private:
    ipvs::Table& table_;
};

}  // namespace lvsd::testing
