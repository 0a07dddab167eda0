// Effective priority from the configured one and every tracker (keepalived's rules), and
// the rise/fall verdict of tracked scripts.
#include <gtest/gtest.h>

#include "vrrp/priority.hpp"

using namespace lvsd::vrrp;
using K = Tracker::Kind;

namespace {
Tracker script(int weight, bool ok) { return {K::Script, "chk", weight, ok, "failed", std::nullopt}; }
Tracker file(int weight, long value) { return {K::File, "/run/w", weight, true, "failed", value}; }
}  // namespace

TEST(EffectivePriority, NegativeWeightsSubtractWhileFailingPositiveAddWhileWell) {
    EXPECT_EQ(effective_priority(150, {script(-60, true)}).priority, 150);
    EXPECT_EQ(effective_priority(150, {script(-60, false)}).priority, 90);
    EXPECT_EQ(effective_priority(100, {script(20, true)}).priority, 120);
    EXPECT_EQ(effective_priority(100, {script(20, false)}).priority, 100);
    auto e = effective_priority(150, {script(-60, false), {K::Interface, "eth1", 10, true, "is down", {}}});
    EXPECT_EQ(e.priority, 100);
    ASSERT_EQ(e.contributions.size(), 2u);
    EXPECT_EQ(e.contributions[0], (Contribution{"script chk", -60, false}));
    EXPECT_EQ(e.contributions[1], (Contribution{"interface eth1", 10, false}));
    EXPECT_EQ(e.fault, "");
}

TEST(EffectivePriority, WeightZeroFailingIsAFaultNamingTheTracker) {
    auto e = effective_priority(150, {script(0, true), {K::Interface, "bond0", 0, false, "does not exist", {}}});
    EXPECT_EQ(e.fault, "interface bond0 does not exist");
    EXPECT_TRUE(e.contributions[1].fault);
    EXPECT_EQ(e.priority, 150);
    EXPECT_EQ(effective_priority(150, {script(0, false)}).fault, "script chk failed");
}

TEST(EffectivePriority, ClampedToOneTo254AndTheOwnerNeverMoves) {
    EXPECT_EQ(effective_priority(10, {script(-253, false)}).priority, 1);
    EXPECT_EQ(effective_priority(250, {script(100, true)}).priority, 254);
    EXPECT_EQ(effective_priority(255, {script(-100, false)}).priority, 255);
    EXPECT_EQ(effective_priority(255, {script(50, true)}).priority, 255);
}

TEST(EffectivePriority, TrackFileMultipliesTheValueByTheWeight) {
    EXPECT_EQ(effective_priority(100, {file(1, 30)}).priority, 130);
    EXPECT_EQ(effective_priority(100, {file(-2, 10)}).priority, 80);
    EXPECT_EQ(effective_priority(100, {file(0, 0)}).fault, "");
    EXPECT_EQ(effective_priority(100, {file(0, 3)}).fault, "file /run/w holds 3");
    EXPECT_EQ(effective_priority(100, {file(1, -254)}).fault, "file /run/w holds -254");
}

TEST(ScriptVerdict, RiseAndFallInARow) {
    ScriptVerdict v(2, 3, false);
    EXPECT_TRUE(v.ok());
    EXPECT_FALSE(v.observe(false));
    EXPECT_FALSE(v.observe(false));
    EXPECT_FALSE(v.observe(true));  // the run of failures is broken
    EXPECT_FALSE(v.observe(false));
    EXPECT_FALSE(v.observe(false));
    EXPECT_TRUE(v.observe(false));  // third in a row
    EXPECT_FALSE(v.ok());
    EXPECT_FALSE(v.observe(true));
    EXPECT_TRUE(v.observe(true));
    EXPECT_TRUE(v.ok());
}

TEST(ScriptVerdict, InitFailStartsFailedUntilRiseSuccesses) {
    ScriptVerdict v(1, 1, true);
    EXPECT_FALSE(v.ok());
    EXPECT_TRUE(v.observe(true));
    EXPECT_TRUE(v.ok());
}

#include "vrrp/tracked_files.hpp"

TEST(TrackFile, ANumberWithBlanksElseZero) {
    EXPECT_EQ(parse_track_file("42\n").value, 42);
    EXPECT_EQ(parse_track_file("  -7 \r\n").value, -7);
    EXPECT_EQ(parse_track_file("+3").value, 3);
    EXPECT_TRUE(parse_track_file("0").ok);
    for (const char* bad : {"", "\n", "12abc", "abc", "1 2", "--1", "99999999999999999999999"}) {
        auto v = parse_track_file(bad);
        EXPECT_EQ(v.value, 0) << bad;
        EXPECT_FALSE(v.ok) << bad;
    }
}

#include "vrrp/tracked_processes.hpp"

TEST(TrackProcess, NameByCommOrArgv0AndParametersByMatchKind) {
    ProcessPattern p{"haproxy", {}, ParamMatch::None};
    EXPECT_TRUE(process_matches(p, "haproxy", {"/usr/sbin/haproxy", "-f", "/etc/h.cfg"}));
    EXPECT_TRUE(process_matches(p, "other-comm", {"/usr/sbin/haproxy"}));
    EXPECT_FALSE(process_matches(p, "nginx", {"/usr/sbin/nginx"}));
    // comm holds at most 15 bytes.
    EXPECT_TRUE(process_matches({"a-very-long-process-name", {}, ParamMatch::None}, "a-very-long-pro", {"x"}));
    // With a '/', the exact argv[0].
    EXPECT_TRUE(process_matches({"/usr/sbin/haproxy", {}, ParamMatch::None}, "haproxy", {"/usr/sbin/haproxy"}));
    EXPECT_FALSE(process_matches({"/usr/sbin/haproxy", {}, ParamMatch::None}, "haproxy", {"/opt/haproxy"}));
    const std::vector<std::string> argv{"/usr/sbin/haproxy", "-f", "/etc/h.cfg", "-p", "/run/h.pid"};
    EXPECT_TRUE(process_matches({"haproxy", {"-f", "/etc/h.cfg", "-p", "/run/h.pid"}, ParamMatch::Exact}, "haproxy", argv));
    EXPECT_FALSE(process_matches({"haproxy", {"-f", "/etc/h.cfg"}, ParamMatch::Exact}, "haproxy", argv));
    EXPECT_TRUE(process_matches({"haproxy", {"-f", "/etc/h.cfg"}, ParamMatch::Initial}, "haproxy", argv));
    EXPECT_FALSE(process_matches({"haproxy", {"-p"}, ParamMatch::Initial}, "haproxy", argv));
    EXPECT_TRUE(process_matches({"haproxy", {"-p", "/run/h.pid"}, ParamMatch::Partial}, "haproxy", argv));
    EXPECT_FALSE(process_matches({"haproxy", {"-p", "/etc/h.cfg"}, ParamMatch::Partial}, "haproxy", argv));
}
