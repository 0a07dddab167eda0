// The canonical destination order of mh services (issue 14): the kernel's Maglev table
// depends on the order the destinations were added, so `diff` keeps that order equal to
// key order on every balancer, whatever the config's order or the insertion history.
#include <gtest/gtest.h>

#include "helpers.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

namespace {

const ServiceKey kVip = ServiceKey::endpoint(Protocol::Tcp, *parse_address("192.0.2.10"), 80);

Table wanted(const std::string& scheduler, const std::vector<Destination>& ds) {
    Table t;
    Service s = tcp_service("192.0.2.10", 80, scheduler);
    s.flags = flag::kMhPort;
    put(t, s, ds);
    return t;
}

// The kernel as it would be after adding `ds` in this order.
Table kernel_after_adds(const std::string& scheduler, const std::vector<Destination>& ds) {
    Table t = wanted(scheduler, {});
    for (const auto& d : ds) apply_to(t, add_destination(kVip, d));
    return t;
}

// Applies `ops` to `t` and returns the order the kernel would then hold.
std::vector<DestinationKey> order_after(Table t, const std::vector<Op>& ops) {
    for (const auto& op : ops) apply_to(t, op);
    return t.at(kVip).order;
}

std::vector<DestinationKey> keys(std::initializer_list<const char*> addresses) {
    std::vector<DestinationKey> out;
    for (const char* a : addresses) out.push_back({ip(a), 80});
    return out;
}

const Destination d1 = dest("198.51.100.1", 80), d2 = dest("198.51.100.2", 80), d3 = dest("198.51.100.3", 80);

}  // namespace

TEST(CanonicalOrder, AlreadyCanonicalSendsNothing) {
    const Table want = wanted("mh", {d3, d1, d2});  // the config's order does not matter
    EXPECT_TRUE(diff(want, kernel_after_adds("mh", {d1, d2, d3}), {kVip}).empty());
    EXPECT_TRUE(diff(want, want, {kVip}).empty());
}

TEST(CanonicalOrder, ADifferentInsertionOrderIsCaughtAndRepaired) {
    const Table want = wanted("mh", {d1, d2, d3});
    const Table kernel = kernel_after_adds("mh", {d1, d3, d2});
    const auto ops = diff(want, kernel, {kVip});
    // d1 is in place; from d3 (the first out of place) on, each deleted and added again
    // in key order.
    const std::vector<Op> expected = {delete_destination(kVip, d2.key), add_destination(kVip, d2),
                                      delete_destination(kVip, d3.key), add_destination(kVip, d3)};
    EXPECT_EQ(ops, expected);
    EXPECT_EQ(order_after(kernel, ops), keys({"198.51.100.1", "198.51.100.2", "198.51.100.3"}));
    Table repaired = kernel;
    for (const auto& op : ops) apply_to(repaired, op);
    EXPECT_TRUE(diff(want, repaired, {kVip}).empty());
}

TEST(CanonicalOrder, ANewRealServerThatSortsFirstMovesEveryOther) {
    const Table want = wanted("mh", {d1, d2, d3});
    const Table kernel = kernel_after_adds("mh", {d2, d3});
    const auto ops = diff(want, kernel, {kVip});
    const std::vector<Op> expected = {add_destination(kVip, d1), delete_destination(kVip, d2.key),
                                      add_destination(kVip, d2), delete_destination(kVip, d3.key),
                                      add_destination(kVip, d3)};
    EXPECT_EQ(ops, expected);
    EXPECT_EQ(order_after(kernel, ops), keys({"198.51.100.1", "198.51.100.2", "198.51.100.3"}));
}

TEST(CanonicalOrder, ANewRealServerThatSortsLastIsOneAdd) {
    const auto ops = diff(wanted("mh", {d1, d2, d3}), kernel_after_adds("mh", {d1, d2}), {kVip});
    EXPECT_EQ(ops, std::vector<Op>{add_destination(kVip, d3)});
}

TEST(CanonicalOrder, ReAddedDestinationsCarryTheWantedSettingsWithoutAnEdit) {
    Destination heavy = d2;
    heavy.weight = 7;
    const auto ops = diff(wanted("mh", {d1, heavy}), kernel_after_adds("mh", {d2, d1}), {kVip});
    const std::vector<Op> expected = {delete_destination(kVip, d1.key), add_destination(kVip, d1),
                                      delete_destination(kVip, d2.key), add_destination(kVip, heavy)};
    EXPECT_EQ(ops, expected);
}

TEST(CanonicalOrder, AnUnwantedDestinationIsDeletedWithoutMovingTheOthers) {
    // d2 leaves: d1, d3 stay in canonical order, so one delete.
    const auto ops = diff(wanted("mh", {d1, d3}), kernel_after_adds("mh", {d1, d2, d3}), {kVip});
    EXPECT_EQ(ops, std::vector<Op>{delete_destination(kVip, d2.key)});
}

TEST(CanonicalOrder, EditsInTheCanonicalPrefixStayEdits) {
    Destination heavy = d1;
    heavy.weight = 0;  // inhibited: keeps its place
    const auto ops = diff(wanted("mh", {heavy, d2}), kernel_after_adds("mh", {d1, d2}), {kVip});
    EXPECT_EQ(ops, std::vector<Op>{edit_destination(kVip, heavy)});
}

TEST(CanonicalOrder, ARealServerTakenOutAndBackReturnsToItsPlace) {
    // Disabled (or down without inhibit_on_failure): out of the table; enabled again: it
    // must not go last, or this balancer's Maglev table differs from the others'.
    const Table want = wanted("mh", {d1, d2, d3});
    Table kernel = kernel_after_adds("mh", {d1, d2, d3});
    for (const auto& op : diff(wanted("mh", {d1, d3}), kernel, {kVip})) apply_to(kernel, op);
    EXPECT_EQ(kernel.at(kVip).order, keys({"198.51.100.1", "198.51.100.3"}));
    const auto ops = diff(want, kernel, {kVip});
    const std::vector<Op> expected = {add_destination(kVip, d2), delete_destination(kVip, d3.key),
                                      add_destination(kVip, d3)};
    EXPECT_EQ(ops, expected);
    EXPECT_EQ(order_after(kernel, ops), keys({"198.51.100.1", "198.51.100.2", "198.51.100.3"}));
}

TEST(CanonicalOrder, KeyOrderIsFamilyThenAddressBytesThenPort) {
    Table t;
    Service s = tcp_service("192.0.2.10", 80, "mh");
    const Destination a = dest("198.51.100.9", 80), b = dest("198.51.100.10", 80), c = dest("198.51.100.10", 81);
    put(t, s, {c, b, a});
    EXPECT_EQ(t.at(kVip).order, (std::vector<DestinationKey>{a.key, b.key, c.key}));  // .9 < .10 as bytes
    Table k6;
    Service s6;
    s6.key = ServiceKey::endpoint(Protocol::Tcp, ip("2001:db8::10"), 80);
    s6.scheduler = "mh";
    const Destination x = dest("2001:db8::2", 80), y = dest("2001:db8::1:1", 80);
    put(k6, s6, {y, x});
    EXPECT_EQ(k6.at(s6.key).order, (std::vector<DestinationKey>{x.key, y.key}));
}

TEST(CanonicalOrder, UnknownOrderSendsNothing) {
    Table kernel = wanted("mh", {d1, d2, d3});
    kernel.at(kVip).order.clear();  // a table from somewhere that does not know it
    EXPECT_TRUE(diff(wanted("mh", {d1, d2, d3}), kernel, {kVip}).empty());
}

TEST(CanonicalOrder, OtherSchedulersKeepOneOpPerChange) {
    const auto ops = diff(wanted("wlc", {d1, d2, d3}), kernel_after_adds("wlc", {d2, d3}), {kVip});
    EXPECT_EQ(ops, std::vector<Op>{add_destination(kVip, d1)});
    EXPECT_TRUE(diff(wanted("rr", {d1, d2, d3}), kernel_after_adds("rr", {d3, d1, d2}), {kVip}).empty());
}

TEST(CanonicalOrder, EachReorderDeleteComesJustBeforeItsAddAfterServiceEdits) {
    Table kernel = kernel_after_adds("mh", {d2, d1});
    kernel.at(kVip).service.scheduler = "wlc";  // becomes mh now: the order starts to count
    const auto ops = diff(wanted("mh", {d1, d2}), kernel, {kVip});
    ASSERT_EQ(ops.size(), 5u);
    EXPECT_EQ(ops[0].kind, OpKind::EditService);
    EXPECT_EQ(ops[1], delete_destination(kVip, d1.key));
    EXPECT_EQ(ops[2], add_destination(kVip, d1));
    EXPECT_EQ(ops[3], delete_destination(kVip, d2.key));
    EXPECT_EQ(ops[4], add_destination(kVip, d2));
}

TEST(CanonicalOrder, EqualityLeavesTheOrderOut) {
    Table a = wanted("mh", {d1, d2});
    Table b = a;
    std::reverse(b.at(kVip).order.begin(), b.at(kVip).order.end());
    EXPECT_EQ(a, b);
}

TEST(CanonicalOrder, TheServiceNeverRunsEmptyAndEachDestinationIsOutForOneOp) {
    // Reversed: every destination moves.
    Table kernel = kernel_after_adds("mh", {d3, d2, d1});
    const auto ops = diff(wanted("mh", {d1, d2, d3}), kernel, {kVip});
    ASSERT_EQ(ops.size(), 6u);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        apply_to(kernel, ops[i]);
        EXPECT_GE(kernel.at(kVip).destinations.size(), 2u) << "after op " << i;
        if (ops[i].kind == OpKind::DeleteDestination) {
            ASSERT_LT(i + 1, ops.size());
            EXPECT_EQ(ops[i + 1], add_destination(kVip, kernel_after_adds("mh", {d1, d2, d3}).at(kVip).destinations.at(
                                                           ops[i].destination.key)));
        }
    }
    EXPECT_EQ(kernel.at(kVip).order, keys({"198.51.100.1", "198.51.100.2", "198.51.100.3"}));
}
