// The pure diff: every case the reconciler relies on, with plain tables.
#include <gtest/gtest.h>

#include "helpers.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

namespace {

// The reference deployment: DSR to two proxies on 8080.
Table reference() {
    Table t;
    put(t, tcp_service("192.0.2.10", 8080, "wlc"),
        {dest("198.51.100.1", 8080), dest("198.51.100.2", 8080)});
    return t;
}

std::vector<std::string> names(const std::vector<Op>& ops) {
    std::vector<std::string> out;
    for (const auto& op : ops) out.push_back(fmt::format("{}", op));
    return out;
}

}  // namespace

TEST(Diff, SameTablesGiveNoOps) {
    EXPECT_TRUE(diff(reference(), reference(), {}).empty());
    EXPECT_TRUE(diff({}, {}, {}).empty());
}

TEST(Diff, MissingServiceIsAddedBeforeItsDestinations) {
    auto ops = diff(reference(), {}, {});
    EXPECT_EQ(names(ops), (std::vector<std::string>{
                              "add service 192.0.2.10:8080/tcp",
                              "add destination 198.51.100.1:8080 to 192.0.2.10:8080/tcp",
                              "add destination 198.51.100.2:8080 to 192.0.2.10:8080/tcp",
                          }));
    EXPECT_EQ(ops[0].service, reference().begin()->second.service);
    EXPECT_EQ(ops[1].destination, dest("198.51.100.1", 8080));
}

TEST(Diff, MissingDestinationIsAdded) {
    Table kernel = reference();
    kernel.begin()->second.destinations.erase(DestinationKey{ip("198.51.100.2"), 8080});
    EXPECT_EQ(names(diff(reference(), kernel, {})),
              (std::vector<std::string>{"add destination 198.51.100.2:8080 to 192.0.2.10:8080/tcp"}));
}

TEST(Diff, WeightChangeIsOneEditInPlace) {
    Table want = reference();
    want.begin()->second.destinations.begin()->second.weight = 0;  // inhibit_on_failure
    auto ops = diff(want, reference(), {});
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, OpKind::EditDestination);
    EXPECT_EQ(ops[0].destination.weight, 0u);
    EXPECT_EQ(ops[0].destination.key, (DestinationKey{ip("198.51.100.1"), 8080}));
}

TEST(Diff, ThresholdAndForwardingChangesAreEdits) {
    Table want = reference();
    auto& d = want.begin()->second.destinations.begin()->second;
    d.forwarding = Forwarding::Nat;
    d.upper_threshold = 500;
    auto ops = diff(want, reference(), {});
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, OpKind::EditDestination);
    EXPECT_EQ(ops[0].destination.forwarding, Forwarding::Nat);
    EXPECT_EQ(ops[0].destination.upper_threshold, 500u);
}

TEST(Diff, SchedulerFlagsAndPersistenceAreServiceEdits) {
    Table want = reference();
    Service& s = want.begin()->second.service;
    s.scheduler = "mh";
    s.flags = flag::kMhFallback | flag::kMhPort;
    auto ops = diff(want, reference(), {});
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, OpKind::EditService);
    EXPECT_EQ(ops[0].service, s);

    Table kernel = want;
    s.flags = flag::kMhFallback;  // only the flags differ now
    ops = diff(want, kernel, {});
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, OpKind::EditService);
    EXPECT_EQ(ops[0].service.flags, flag::kMhFallback);

    kernel = want;
    s.persistence_timeout = 300;
    s.persistence_prefix = 24;
    ops = diff(want, kernel, {});
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].kind, OpKind::EditService);
}

TEST(Diff, NeverDeletesAndReAddsAnExistingObject) {
    // Everything about the service and both destinations changes, but the keys stay:
    // edits only.
    Table want = reference();
    want.begin()->second.service.scheduler = "rr";
    want.begin()->second.service.persistence_timeout = 60;
    for (auto& [_, d] : want.begin()->second.destinations) {
        d.weight = 9;
        d.forwarding = Forwarding::Tunnel;
    }
    auto ops = diff(want, reference(), {reference().begin()->first});
    ASSERT_EQ(ops.size(), 3u);
    for (const auto& op : ops)
        EXPECT_TRUE(op.kind == OpKind::EditService || op.kind == OpKind::EditDestination)
            << fmt::format("{}", op);
}

TEST(Diff, UnwantedDestinationOfAWantedServiceIsDeleted) {
    Table kernel = reference();
    kernel.begin()->second.destinations[{ip("198.51.100.3"), 8080}] = dest("198.51.100.3", 8080);
    EXPECT_EQ(names(diff(reference(), kernel, {})),
              (std::vector<std::string>{
                  "delete destination 198.51.100.3:8080 from 192.0.2.10:8080/tcp"}));
}

TEST(Diff, OwnedServiceNoLongerWantedIsDeletedWithoutItsDestinations) {
    Table kernel = reference();
    auto gone = tcp_service("192.0.2.11", 80);
    put(kernel, gone, {dest("198.51.100.9", 80)});
    auto ops = diff(reference(), kernel, {gone.key, reference().begin()->first});
    // The service delete takes its destinations with it: one op.
    EXPECT_EQ(names(ops), (std::vector<std::string>{"delete service 192.0.2.11:80/tcp"}));
}

TEST(Diff, ForeignServicesAreUntouched) {
    Table kernel = reference();
    auto foreign = tcp_service("203.0.113.5", 443, "rr");
    put(kernel, foreign, {dest("203.0.113.6", 443, 1, Forwarding::Nat)});
    EXPECT_TRUE(diff(reference(), kernel, {reference().begin()->first}).empty());
    // Not even when lvsd wants nothing at all.
    EXPECT_EQ(names(diff({}, kernel, {reference().begin()->first})),
              (std::vector<std::string>{"delete service 192.0.2.10:8080/tcp"}));
}

TEST(Diff, Ipv6ServicesAndDestinations) {
    Table want;
    put(want, tcp_service("2001:db8::10", 80, "wrr"),
        {dest("2001:db8::1:1", 80, 5), dest("2001:db8::1:2", 80, 5)});
    Table kernel;
    put(kernel, tcp_service("2001:db8::10", 80, "wrr"),
        {dest("2001:db8::1:1", 80, 1), dest("2001:db8::1:3", 80, 5)});
    EXPECT_EQ(names(diff(want, kernel, {})),
              (std::vector<std::string>{
                  "add destination [2001:db8::1:2]:80 to [2001:db8::10]:80/tcp",
                  "edit destination [2001:db8::1:1]:80 of [2001:db8::10]:80/tcp",
                  "delete destination [2001:db8::1:3]:80 from [2001:db8::10]:80/tcp",
              }));
    // The v6 "per client" netmask reads the same whether spelt /128 or left unset.
    Table spelled = want;
    spelled.begin()->second.service.persistence_prefix = 128;
    EXPECT_TRUE(diff(spelled, want, {}).empty());
}

TEST(Diff, FwmarkServicesAreKeyedByMarkAndFamily) {
    Table want;
    put(want, fwmark_service(7), {dest("198.51.100.1", 0)});
    put(want, fwmark_service(7, Family::V6), {dest("2001:db8::1", 0)});
    Table kernel;
    put(kernel, fwmark_service(7), {dest("198.51.100.1", 0)});
    EXPECT_EQ(names(diff(want, kernel, {})),
              (std::vector<std::string>{"add service fwmark 7/ipv6",
                                        "add destination [2001:db8::1]:0 to fwmark 7/ipv6"}));
    kernel.begin()->second.destinations.begin()->second.weight = 3;
    auto ops = diff(want, kernel, {});
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_EQ(fmt::format("{}", ops[2]), "edit destination 198.51.100.1:0 of fwmark 7");
}

TEST(Diff, OrderIsServicesThenDestinationsThenServiceDeletes) {
    Table want;
    put(want, tcp_service("192.0.2.20", 80), {dest("198.51.100.1", 80)});
    put(want, tcp_service("192.0.2.21", 80, "rr"), {dest("198.51.100.2", 80)});
    Table kernel;
    put(kernel, tcp_service("192.0.2.21", 80), {dest("198.51.100.3", 80)});
    put(kernel, tcp_service("192.0.2.22", 80), {});
    auto ops = diff(want, kernel, {tcp_service("192.0.2.22", 80).key});
    EXPECT_EQ(names(ops), (std::vector<std::string>{
                              "add service 192.0.2.20:80/tcp",
                              "edit service 192.0.2.21:80/tcp",
                              "add destination 198.51.100.1:80 to 192.0.2.20:80/tcp",
                              "add destination 198.51.100.2:80 to 192.0.2.21:80/tcp",
                              "delete destination 198.51.100.3:80 from 192.0.2.21:80/tcp",
                              "delete service 192.0.2.22:80/tcp",
                          }));
}

TEST(ApplyTo, TracksTheKernelTable) {
    Table t;
    const auto key = tcp_service("192.0.2.10", 8080).key;
    apply_to(t, add_service(tcp_service("192.0.2.10", 8080)));
    apply_to(t, add_destination(key, dest("198.51.100.1", 8080)));
    apply_to(t, add_destination(key, dest("198.51.100.2", 8080)));
    apply_to(t, edit_destination(key, dest("198.51.100.1", 8080, 0)));
    apply_to(t, delete_destination(key, {ip("198.51.100.2"), 8080}));
    Table want;
    put(want, tcp_service("192.0.2.10", 8080), {dest("198.51.100.1", 8080, 0)});
    EXPECT_EQ(t, want);
    apply_to(t, delete_service(key));
    EXPECT_TRUE(t.empty());
}

TEST(Diff, ThirtyThousandDestinationsNoChange) {
    // Size, not speed: the walk must give nothing for identical big tables (speed is
    // measured by bench/ipvs_apply).
    Table t;
    for (int s = 0; s < 1000; ++s) {
        std::vector<Destination> ds;
        for (int d = 0; d < 30; ++d)
            ds.push_back(dest(fmt::format("198.51.100.{}", d + 1).c_str(), static_cast<uint16_t>(8080 + s)));
        put(t, tcp_service(fmt::format("203.0.113.{}", s % 250 + 1).c_str(),
                           static_cast<uint16_t>(1000 + s / 250)),
            ds);
    }
    ASSERT_EQ(t.size(), 1000u);
    EXPECT_TRUE(diff(t, t, {}).empty());
    Table changed = t;
    std::next(changed.begin(), 500)->second.destinations.begin()->second.weight = 2;
    EXPECT_EQ(diff(changed, t, {}).size(), 1u);
}
