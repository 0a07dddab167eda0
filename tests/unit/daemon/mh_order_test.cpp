// A real server of an mh service that an override takes out (disable, drain) or health
// brings down: under inhibit_on_failure (what announced services get) it stays in the
// kernel with weight 0, in its place; without it, it leaves and comes back in its
// canonical place, not last (issue 14: the Maglev table depends on the kernel's order).
#include <gtest/gtest.h>

#include "daemon/desired.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::shared_ptr<const config::Config> parse(bool inhibit) {
    const std::string text = std::string(R"(
virtual_servers = ( {
    address = "192.0.2.10"; port = 80; protocol = "TCP"; lb_algo = "mh"; mh-port = true; lb_kind = "DR";
    inhibit_on_failure = )") + (inhibit ? "true" : "false") + R"(;
    real_servers = (
        { address = "198.51.100.3"; weight = 1; },
        { address = "198.51.100.1"; weight = 1; },
        { address = "198.51.100.2"; weight = 1; }
    );
} );
)";
    auto r = config::load_string(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

const HealthLookup kAllUp = [](const config::VirtualServer&, const config::RealServer&) { return true; };

ipvs::DestinationKey key(const char* a) { return {*parse_address(a), 80}; }

// The table with `who` under `o` (an override), as the reconciler would apply it to `kernel`.
ipvs::Table applied(const config::Config& c, ipvs::Table kernel, const char* who, const RealServerOverride* o,
                    std::vector<ipvs::Op>* ops = nullptr) {
    auto want = desired_table(c, kAllUp, {}, {}, [&](const config::VirtualServer&, const config::RealServer& rs) {
        return rs.address.to_string() == who ? o : nullptr;
    });
    auto d = ipvs::diff(want, kernel, {want.begin()->first});
    for (const auto& op : d) ipvs::apply_to(kernel, op);
    if (ops) *ops = d;
    return kernel;
}

const std::vector<ipvs::DestinationKey> kCanonical = {key("198.51.100.1"), key("198.51.100.2"), key("198.51.100.3")};

}  // namespace

TEST(MhOrder, DisabledOrDrainedUnderInhibitKeepsItsPlaceWithWeightZero) {
    auto c = parse(true);
    const ipvs::Table start = applied(*c, {}, "", nullptr);
    ASSERT_EQ(start.begin()->second.order, kCanonical);
    RealServerOverride disabled;
    disabled.disabled = true;
    std::vector<ipvs::Op> ops;
    auto k = applied(*c, start, "198.51.100.1", &disabled, &ops);
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, ipvs::OpKind::EditDestination);
    EXPECT_EQ(k.begin()->second.destinations.at(key("198.51.100.1")).weight, 0u);
    EXPECT_EQ(k.begin()->second.order, kCanonical);

    RealServerOverride drained;
    drained.drain = Drain{std::nullopt, true, false};  // done: out of the table, or 0 here
    k = applied(*c, start, "198.51.100.2", &drained, &ops);
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, ipvs::OpKind::EditDestination);
    EXPECT_EQ(k.begin()->second.order, kCanonical);
}

TEST(MhOrder, DisabledWithoutInhibitComesBackInItsCanonicalPlace) {
    auto c = parse(false);
    const ipvs::Table start = applied(*c, {}, "", nullptr);
    RealServerOverride disabled;
    disabled.disabled = true;
    auto k = applied(*c, start, "198.51.100.1", &disabled);
    EXPECT_EQ(k.begin()->second.order, (std::vector<ipvs::DestinationKey>{key("198.51.100.2"), key("198.51.100.3")}));
    std::vector<ipvs::Op> ops;
    k = applied(*c, k, "", nullptr, &ops);  // enabled again
    EXPECT_EQ(k.begin()->second.order, kCanonical);
    EXPECT_EQ(ops.size(), 5u);  // 2 deletes, 3 adds
    EXPECT_TRUE(ipvs::diff(applied(*c, {}, "", nullptr), k, {k.begin()->first}).empty());
}
