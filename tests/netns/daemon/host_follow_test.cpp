// Issue #11, "VRRP follows the host" (DESIGN.md: the host is observed, not assumed). Two
// real lvsd processes as a VRRP pair (a: priority 150, b: 100) in namespaces on one bridge;
// each test changes the host behind a's or b's back and checks that lvsd follows: a VIP
// removed, relabelled or added by hand is repaired (one log line, counted in vip_repairs);
// an interface deleted, renamed or down, or a missing advert source address, puts the
// instance in FAULT (never MASTER) with the reason in status, and when the host is whole
// again the instance returns through a normal election.
//
// Timing figures (how long a repair took) are printed as "[ measure  ]" lines and recorded
// as test properties, so that they can be quoted; the bounds are generous for a loaded
// 2-core machine.
#include <signal.h>

#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class HostFollow : public PairTest {
protected:
    // "" when a is MASTER with the VIP on eth0 and b BACKUP without it; else what differs.
    std::string a_master_b_backup() const {
        if (auto s = state("a"); s != "MASTER") return "a is " + s;
        if (!has_vip("a")) return "a has no VIP";
        if (auto s = state("b"); s != "BACKUP") return "b is " + s;
        if (has_vip_anywhere("b")) return "b holds the VIP too";
        return {};
    }
    // The line of `ip -o addr show dev eth0` in a that carries the VIP ("" when none).
    std::string vip_line(const std::string& ns) const {
        std::istringstream in(addrs(ns));
        for (std::string line; std::getline(in, line);)
            if (line.find("inet 192.0.2.10/24 ") != std::string::npos) return line;
        return {};
    }
    // (Helpers with ASSERTs: call them with ASSERT_NO_FATAL_FAILURE.)
    // Waits for a to be in FAULT with a reason and no VIP, and b to take over.
    void expect_a_fault_b_master() {
        ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT"; }, 5s)) << status("a") << a_.output();
        // FAULT for good, not for a moment: never MASTER, never holding the VIP.
        EXPECT_EQ(hold_for(1s, [&]() -> std::string {
                      if (auto s = state("a"); s != "FAULT") return "a is " + s;
                      if (has_vip_anywhere("a")) return "a holds the VIP in FAULT";
                      return {};
                  }),
                  "")
            << addrs("a", "");
        const auto fault = fld("a", "fault");
        EXPECT_TRUE(fault != "" && fault != "<absent>" && fault != "null")
            << "status must say why a is in FAULT: " << inst("a");
        ASSERT_TRUE(wait_until([&] { return state("b") == "MASTER" && has_vip("b"); }, 5s))
            << status("b") << b_.output();
    }
    // After the host is whole again: a wins the election (it is the higher priority) and
    // holds the VIP on eth0, b goes back to BACKUP. How long a took is measured as `key`.
    void expect_a_back(Clock::time_point since, const std::string& key) {
        const bool back = wait_until([&] { return state("a") == "MASTER" && has_vip("a"); }, 10s);
        ASSERT_TRUE(back) << "a did not return to MASTER with the VIP within 10 s\n"
                          << addrs("a") << status("a") << a_.output();
        measure(key, ms_since(since));
        EXPECT_TRUE(wait_until([&] { return state("b") == "BACKUP" && !has_vip_anywhere("b"); }, 5s))
            << status("b") << b_.output();
        EXPECT_EQ(hold_for(1s, [&] { return a_master_b_backup(); }), "");
        EXPECT_EQ(fld("a", "fault"), "") << inst("a");
        EXPECT_EQ(fld("a", "source"), "192.0.2.2") << inst("a");
    }
    // a's transitions since `before`, checking that it came back through BACKUP
    // (FAULT -> BACKUP -> MASTER: RFC 5798 §6.4, keepalived's Fault row).
    void expect_normal_election(long transitions_in_fault) {
        EXPECT_EQ(counter("a", "transitions") - transitions_in_fault, 2)
            << "expected FAULT -> BACKUP -> MASTER: " << inst("a");
    }

    void source_address_removed(bool unicast);
};

// 1. keepalived puts a VIP removed by hand back within 0.2 s; lvsd within 1 s, logged once,
// counted once, and neither side changes state.
TEST_F(HostFollow, VipDeletedOnMasterIsRestored) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    const long ta = counter("a", "transitions"), tb = counter("b", "transitions");
    const auto logs = count(a_.output(), kBehind);
    std::string b_seen;
    const auto t0 = Clock::now();
    lab_.ip("a", "addr del 192.0.2.10/24 dev eth0");
    const bool back = wait_until([&] {
        if (auto s = state("b"); s != "BACKUP" && b_seen.empty()) b_seen = s;
        return has_vip("a");
    }, 3s, 5ms);
    const long gap = ms_since(t0);
    ASSERT_TRUE(back) << "the VIP deleted by hand on the master was not restored within 3 s\n"
                      << addrs("a") << status("a") << a_.output();
    measure("vip_restored_ms", gap);
    EXPECT_LT(gap, 1000) << "keepalived takes about 200 ms";
    EXPECT_EQ(b_seen, "") << "b left BACKUP during the repair";
    EXPECT_EQ(hold_for(1s, [&] { return a_master_b_backup(); }), "");
    EXPECT_EQ(counter("a", "transitions"), ta) << inst("a");
    EXPECT_EQ(counter("b", "transitions"), tb) << inst("b");
    EXPECT_EQ(count(a_.output(), kBehind) - logs, 1u) << a_.output();
    EXPECT_EQ(fld("a", "vip_repairs"), "1") << inst("a");
    EXPECT_EQ(fld("b", "vip_repairs"), "0") << inst("b");
}

// 2. The interface is deleted (with its veth peer) and a new one with the same name made:
// nothing may stay bound to the old ifindex.
TEST_F(HostFollow, InterfaceDeletedAndRecreatedIsFollowed) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    lab_.ip("a", "link del eth0");
    ASSERT_NO_FATAL_FAILURE(expect_a_fault_b_master());
    EXPECT_EQ(fld("a", "source"), "null") << inst("a");
    const long in_fault = counter("a", "transitions");

    // A new eth0 on a new veth pair (the Lab still counts the old eth0 as up, so it is
    // brought up explicitly; the new peer has a new name for the same reason).
    lab_.veth("a", "eth0", "sw", "ap2");
    lab_.enslave("sw", "ap2", "br0");
    lab_.address("a", "eth0", "192.0.2.2/24");
    const auto t0 = Clock::now();
    lab_.ip("a", "link set eth0 up");
    ASSERT_NO_FATAL_FAILURE(expect_a_back(t0, "recreated_to_master_ms"));
    expect_normal_election(in_fault);
    // a's adverts leave by the new link: b hears them.
    const long heard = counter("b", "adverts_received");
    EXPECT_TRUE(wait_until([&] { return counter("b", "adverts_received") >= heard + 5; }, 5s))
        << "b stopped hearing a's adverts: " << inst("b");

    // Alone, a stays MASTER and keeps advertising on the new link.
    b_.stop();
    const long sent = counter("a", "adverts_sent");
    EXPECT_EQ(hold_for(1s, [&]() -> std::string {
                  if (auto s = state("a"); s != "MASTER") return "a is " + s;
                  return has_vip("a") ? "" : "a has no VIP";
              }),
              "");
    EXPECT_GE(counter("a", "adverts_sent"), sent + 5) << inst("a");
}

// 3. Renamed away: the configured interface no longer exists (FAULT, although the link is
// up under its new name); renamed back: a normal election.
TEST_F(HostFollow, InterfaceRenamedAwayAndBack) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    lab_.ip("a", "link set eth0 down");
    lab_.ip("a", "link set eth0 name eth7");
    lab_.ip("a", "link set eth7 up");
    ASSERT_NO_FATAL_FAILURE(expect_a_fault_b_master());
    EXPECT_FALSE(has_vip("a", "eth7")) << addrs("a", "eth7");
    const long in_fault = counter("a", "transitions");

    lab_.ip("a", "link set eth7 down");
    lab_.ip("a", "link set eth7 name eth0");
    const auto t0 = Clock::now();
    lab_.ip("a", "link set eth0 up");
    ASSERT_NO_FATAL_FAILURE(expect_a_back(t0, "renamed_back_to_master_ms"));
    expect_normal_election(in_fault);
}

// 4. Link down and up while b advertises: FAULT, then back; the VIP is on both balancers
// for at most one advert exchange.
TEST_F(HostFollow, InterfaceDownAndUpWhileMaster) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    lab_.ip("a", "link set eth0 down");
    ASSERT_NO_FATAL_FAILURE(expect_a_fault_b_master());
    const long in_fault = counter("a", "transitions");

    const auto t0 = Clock::now();
    lab_.ip("a", "link set eth0 up");
    // From a's first sight of the VIP to b's last.
    std::optional<Clock::time_point> a_first, b_last;
    const bool settled = wait_until([&] {
        const bool va = has_vip("a"), vb = has_vip("b");
        const auto now = Clock::now();
        if (vb) b_last = now;
        if (va && !a_first) a_first = now;
        return a_first && !vb;
    }, 10s, 5ms);
    ASSERT_TRUE(settled) << addrs("a") << addrs("b") << status("a") << status("b");
    measure("up_to_vip_on_a_ms", std::chrono::duration_cast<std::chrono::milliseconds>(*a_first - t0).count());
    const long both = b_last && *b_last > *a_first
                          ? std::chrono::duration_cast<std::chrono::milliseconds>(*b_last - *a_first).count()
                          : 0;
    measure("vip_on_both_ms", both);
    EXPECT_LE(both, 500);
    EXPECT_TRUE(wait_until([&] { return a_master_b_backup().empty(); }, 5s)) << a_master_b_backup();
    EXPECT_EQ(hold_for(1500ms, [&] { return a_master_b_backup(); }), "");
    expect_normal_election(in_fault);
}

// 5. The VIP's label (config "label eth0:vip") changed behind lvsd's back.
TEST_F(HostFollow, VipLabelChangedIsRepaired) {
    auto ca = conf_a(), cb = conf_b();
    ca.vips = cb.vips = {"192.0.2.10/24 dev eth0 label eth0:vip"};
    ASSERT_NO_FATAL_FAILURE(start_pair(ca, cb));
    ASSERT_THAT(vip_line("a"), HasSubstr(" eth0:vip")) << addrs("a");
    const long ta = counter("a", "transitions");
    const auto logs = count(a_.output(), kBehind);

    // Delete and re-add with another label while lvsd is held still (SIGSTOP, a few ms:
    // far less than b's Master_Down_Interval), so that its repair of the deletion, which
    // takes a tenth of a millisecond, cannot come between the two: it then sees both
    // changes at once, as a label change.
    const std::string batch = dir_ + "/relabel.batch";
    std::ofstream(batch) << "addr del 192.0.2.10/24 dev eth0\naddr add 192.0.2.10/24 dev eth0 label eth0:other\n";
    ASSERT_EQ(::kill(a_.pid(), SIGSTOP), 0);
    const bool relabelled = run({"ip", "-n", lab_.netns_name("a"), "-batch", batch}).ok();
    const Clock::time_point t0 = Clock::now();
    ASSERT_EQ(::kill(a_.pid(), SIGCONT), 0);
    ASSERT_TRUE(relabelled) << addrs("a");
    const bool fixed = wait_until([&] { return vip_line("a").find(" eth0:vip") != std::string::npos; }, 3s, 5ms);
    const long gap = ms_since(t0);
    ASSERT_TRUE(fixed) << "the label is not eth0:vip again after 3 s: " << addrs("a") << a_.output();
    measure("label_repaired_ms", gap);
    EXPECT_LT(gap, 1000);
    EXPECT_THAT(vip_line("a"), Not(HasSubstr("eth0:other")));
    EXPECT_EQ(hold_for(500ms, [&] { return a_master_b_backup(); }), "");
    EXPECT_EQ(counter("a", "transitions"), ta);
    EXPECT_GE(count(a_.output(), kBehind) - logs, 1u) << a_.output();
    EXPECT_GE(number(field(inst("a"), "vip_repairs")), 1) << inst("a");
}

// 6. A stray copy of the VIP on the backup (an operator's `ip addr add`) is removed: two
// holders of one address is the split brain VRRP exists to prevent.
TEST_F(HostFollow, StrayVipOnBackupIsRemoved) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    const long ta = counter("a", "transitions"), tb = counter("b", "transitions");
    const auto logs_a = count(a_.output(), kBehind), logs_b = count(b_.output(), kBehind);
    std::string seen;
    const auto t0 = Clock::now();
    lab_.ip("b", "addr add 192.0.2.10/24 dev eth0");
    const bool removed = wait_until([&] {
        if (seen.empty() && !has_vip("a")) seen = "a lost the VIP";
        return !has_vip("b");
    }, 3s, 5ms);
    const long gap = ms_since(t0);
    ASSERT_TRUE(removed) << "the stray VIP on the backup is still there after 3 s\n"
                         << addrs("b") << status("b") << b_.output();
    measure("stray_vip_removed_ms", gap);
    EXPECT_LT(gap, 1000);
    EXPECT_EQ(seen, "");
    EXPECT_EQ(hold_for(1s, [&] { return a_master_b_backup(); }), "");
    EXPECT_EQ(counter("a", "transitions"), ta) << inst("a");
    EXPECT_EQ(counter("b", "transitions"), tb) << inst("b");
    EXPECT_EQ(count(b_.output(), kBehind) - logs_b, 1u) << b_.output();
    EXPECT_EQ(count(a_.output(), kBehind) - logs_a, 0u) << a_.output();
    EXPECT_EQ(fld("b", "vip_repairs"), "1") << inst("b");
    EXPECT_EQ(fld("a", "vip_repairs"), "0") << inst("a");
}

// 7. The advert source address (the interface's primary, or unicast_src_ip) removed on the
// master: it cannot advertise, so it must not claim MASTER. Deleting the primary also
// takes the VIP along (promote_secondaries is off).
void HostFollow::source_address_removed(bool unicast) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(unicast), conf_b(unicast)));
    EXPECT_EQ(fld("a", "source"), "192.0.2.2") << inst("a");
    EXPECT_EQ(fld("a", "fault"), "") << inst("a");
    lab_.ip("a", "addr del 192.0.2.2/24 dev eth0");
    ASSERT_NO_FATAL_FAILURE(expect_a_fault_b_master());
    EXPECT_EQ(fld("a", "source"), "null") << inst("a");
    const long in_fault = counter("a", "transitions");

    const auto t0 = Clock::now();
    lab_.ip("a", "addr add 192.0.2.2/24 dev eth0");
    ASSERT_NO_FATAL_FAILURE(expect_a_back(t0, "source_back_to_master_ms"));
    expect_normal_election(in_fault);
}

TEST_F(HostFollow, AdvertSourceRemovedMulticast) { source_address_removed(false); }
TEST_F(HostFollow, AdvertSourceRemovedUnicast) { source_address_removed(true); }

}  // namespace
