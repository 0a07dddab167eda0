// lvsd VRRP instances as separate processes on a bridge between namespaces: election,
// failover on kill -9 (timed), graceful priority-0 handover, preempt / preempt_delay /
// nopreempt, gratuitous ARP on the wire, track_interface, unicast where multicast is
// filtered, and an IPv6 VIP.
#include <sys/stat.h>

#include "vrrp_lab.hpp"

using namespace vrrp_lab;

namespace {

// RFC 5798 §6.1 with the learned interval = ours.
Ms master_down(int advert_ms, int prio) {
    return Ms(3 * advert_ms + (256 - prio) * advert_ms / 256);
}

}  // namespace

TEST(VrrpNetns, HigherPriorityWinsAndOnlyItHoldsTheVip) {
    lt::Lab lab;
    build_segment(lab);
    auto b = start_router(lab, {"b", 100});
    auto a = start_router(lab, {"a", 200});
    ASSERT_TRUE(a.wait_state("MASTER", 3s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("BACKUP", 3s)) << b.proc.output();
    // Stable: b stays backup over many intervals.
    lt::wait_until([] { return false; }, 600ms);
    EXPECT_EQ(b.last_state(), "BACKUP") << b.proc.output();
    EXPECT_TRUE(has_address(lab, "a", kVip));
    EXPECT_FALSE(has_address(lab, "b", kVip));
    auto cb = b.counters();
    EXPECT_GT(cb["received"], 3) << b.proc.output();
    EXPECT_EQ(cb["send_errors"], 0);
}

namespace {

void cut_vrrp(lt::Lab& lab) {
    auto r = lab.sh("sw",
                    "nft add table bridge lvt && "
                    "nft 'add chain bridge lvt cut { type filter hook forward priority 0; }' && "
                    "nft add rule bridge lvt cut ether type ip ip protocol 112 drop");
    ASSERT_TRUE(r.ok()) << r.output;
}

void heal_vrrp(lt::Lab& lab) {
    auto r = lab.sh("sw", "nft delete table bridge lvt");
    ASSERT_TRUE(r.ok()) << r.output;
}

}  // namespace

TEST(VrrpNetns, EqualPriorityMastersAreResolvedByTheHigherAddress) {
    lt::Lab lab;
    build_segment(lab);
    // A backup accepts an equal-priority master (RFC 5798 §6.4.2), so the tie-break
    // only matters between two masters: make two by cutting the adverts, then heal.
    cut_vrrp(lab);
    auto a = start_router(lab, {"a", 150});
    auto b = start_router(lab, {"b", 150});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("MASTER", 3s));
    heal_vrrp(lab);
    // 192.0.2.2 (b) is the greater primary address.
    EXPECT_TRUE(a.wait_state("BACKUP", 1s)) << a.proc.output();
    EXPECT_EQ(b.last_state(), "MASTER") << b.proc.output();
}

TEST(VrrpNetns, KillNineFailoverWithinMasterDownIntervalAndVipAnswersArp) {
    lt::Lab lab;
    build_segment(lab);
    const int advert = 100, prio_b = 100;
    auto a = start_router(lab, {"a", 200, {}, advert});
    auto b = start_router(lab, {"b", prio_b, {}, advert});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    lt::wait_until([] { return false; }, 300ms);
    // The killed process leaves its VIP behind, as a dead host's would answer nothing:
    // take a's link down with it so that only b can answer.
    const auto t0 = SteadyClock::now();
    a.kill9();
    lab.ip("a", "link set eth0 down");
    const auto bound = master_down(advert, prio_b) + 100ms;
    ASSERT_TRUE(b.wait_state("MASTER", bound + 1s)) << b.proc.output();
    const auto gap = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    EXPECT_LE(gap, bound) << "takeover took " << gap.count() << " ms";
    RecordProperty("takeover_ms", static_cast<int>(gap.count()));
    EXPECT_TRUE(has_address(lab, "b", kVip));
    auto r = lab.exec("c", {"arping", "-c", "1", "-w", "2", "-i", "eth0", kVip});
    EXPECT_TRUE(r.ok()) << r.output;
    EXPECT_NE(r.output.find(mac_of(lab, "b")), std::string::npos) << r.output;
}

TEST(VrrpNetns, GracefulStopHandsOverWithinSkewTime) {
    lt::Lab lab;
    build_segment(lab);
    const int advert = 1000, prio_b = 100;  // a long interval, so only priority 0 can explain a fast takeover
    auto a = start_router(lab, {"a", 200, {}, advert});
    auto b = start_router(lab, {"b", prio_b, {}, advert});
    ASSERT_TRUE(a.wait_state("MASTER", 6s));
    ASSERT_TRUE(b.wait_state("BACKUP", 6s));
    const auto t0 = SteadyClock::now();
    a.term();
    const auto skew = Ms((256 - prio_b) * advert / 256);
    ASSERT_TRUE(b.wait_state("MASTER", 3s)) << b.proc.output();
    const auto gap = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    EXPECT_LE(gap, skew + 100ms) << "takeover took " << gap.count() << " ms";
    ASSERT_TRUE(lt::wait_until([&] { return !a.proc.running(); }, 2s));
    EXPECT_EQ(a.proc.status(), 0) << a.proc.output();
    EXPECT_FALSE(has_address(lab, "a", kVip)) << "a graceful stop releases the VIP";
    EXPECT_TRUE(has_address(lab, "b", kVip));
}

TEST(VrrpNetns, PreemptTakesBackAfterPreemptDelay) {
    lt::Lab lab;
    build_segment(lab);
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(b.wait_state("MASTER", 3s));
    const auto t0 = SteadyClock::now();
    auto a = start_router(lab, {"a", 200, {"--preempt-delay-ms", "1500"}});
    ASSERT_TRUE(a.wait_state("BACKUP", 2s));
    ASSERT_TRUE(a.wait_state("MASTER", 4s)) << a.proc.output();
    const auto took = SteadyClock::now() - t0;
    EXPECT_GE(took, 1500ms) << "preempted before preempt_delay";
    EXPECT_LE(took, 1500ms + 800ms);
    EXPECT_TRUE(b.wait_state("BACKUP", 1s)) << b.proc.output();
    EXPECT_TRUE(lt::wait_until([&] { return !has_address(lab, "b", kVip); }, 1s));
    EXPECT_TRUE(has_address(lab, "a", kVip));
}

TEST(VrrpNetns, PreemptWithoutDelayTakesBackAtOnce) {
    lt::Lab lab;
    build_segment(lab);
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(b.wait_state("MASTER", 3s));
    auto a = start_router(lab, {"a", 200});
    // a ignores the lower master and takes over when its own master-down timer fires.
    ASSERT_TRUE(a.wait_state("MASTER", Ms(master_down(100, 200)) + 500ms)) << a.proc.output();
    EXPECT_TRUE(b.wait_state("BACKUP", 1s));
}

TEST(VrrpNetns, NopreemptLeavesTheLowerMasterAlone) {
    lt::Lab lab;
    build_segment(lab);
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(b.wait_state("MASTER", 3s));
    auto a = start_router(lab, {"a", 200, {"--nopreempt"}});
    ASSERT_TRUE(a.wait_state("BACKUP", 2s));
    lt::wait_until([] { return false; }, 1500ms);
    EXPECT_EQ(a.last_state(), "BACKUP") << a.proc.output();
    EXPECT_EQ(b.last_state(), "MASTER");
    EXPECT_TRUE(has_address(lab, "b", kVip));
    EXPECT_FALSE(has_address(lab, "a", kVip));
}

TEST(VrrpNetns, GratuitousArpIsSeenOnTheWire) {
    lt::Lab lab;
    build_segment(lab);
    auto dump = lab.spawn("c", {"tcpdump", "-i", "eth0", "-nn", "-e", "-l", "arp"});
    lt::wait_until([] { return false; }, 500ms);  // tcpdump needs a moment to attach
    auto a = start_router(lab, {"a", 200, {"--garp-repeat", "3", "--garp-delay-ms", "0"}});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    const auto mac = mac_of(lab, "a");
    auto seen = [&] {
        auto out = dump.output();
        int n = 0;
        for (std::size_t at = 0; (at = out.find("tell " + kVip + ",", at)) != std::string::npos; ++at)
            ++n;
        return n;
    };
    EXPECT_TRUE(lt::wait_until([&] { return seen() >= 3; }, 2s)) << dump.output();
    EXPECT_NE(dump.output().find(mac), std::string::npos) << dump.output();
}

TEST(VrrpNetns, TrackedInterfaceDownMeansFaultAndHandover) {
    lt::Lab lab;
    build_segment(lab);
    // A veth pair stands in for an uplink (the host kernel has no dummy module).
    lab.ip("a", "link add up0 type veth peer name up1");
    lab.ip("a", "link set up1 up");
    lab.ip("a", "link set up0 up");
    auto a = start_router(lab, {"a", 200, {"--track-interface", "up0"}});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    const auto t0 = SteadyClock::now();
    lab.ip("a", "link set up0 down");
    ASSERT_TRUE(a.wait_state("FAULT", 1s)) << a.proc.output();
    EXPECT_FALSE(has_address(lab, "a", kVip));
    // a advertised priority 0 on the way out: b takes over after its skew, not after MDI.
    ASSERT_TRUE(b.wait_state("MASTER", 1s));
    EXPECT_LE(SteadyClock::now() - t0, 300ms);
    lab.ip("a", "link set up0 up");
    ASSERT_TRUE(a.wait_state("MASTER", 3s)) << a.proc.output();
    EXPECT_TRUE(b.wait_state("BACKUP", 1s));
}

TEST(VrrpNetns, UnicastWorksWhereTheBridgeDropsMulticast) {
    lt::Lab lab;
    build_segment(lab);
    // The bridge drops VRRP's multicast MAC (01:00:5e:00:00:12), like a switch with
    // snooping and no querier, or a cloud network.
    auto nft = lab.sh("sw",
                      "nft add table bridge lvt && "
                      "nft 'add chain bridge lvt cut { type filter hook forward priority 0; }' && "
                      "nft add rule bridge lvt cut ether daddr 01:00:5e:00:00:12 drop");
    ASSERT_TRUE(nft.ok()) << nft.output;
    {
        // Proof that the filter works: multicast instances both become master.
        auto a = start_router(lab, {"a", 200});
        auto b = start_router(lab, {"b", 100});
        ASSERT_TRUE(a.wait_state("MASTER", 3s));
        ASSERT_TRUE(b.wait_state("MASTER", 3s)) << "the multicast filter did not filter";
        a.proc.stop();
        b.proc.stop();
    }
    auto a = start_router(lab, {"a", 200, {"--unicast-src-ip", "192.0.2.1", "--unicast-peer", "192.0.2.2"}});
    auto b = start_router(lab, {"b", 100, {"--unicast-src-ip", "192.0.2.2", "--unicast-peer", "192.0.2.1"}});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    lt::wait_until([] { return false; }, 600ms);
    EXPECT_EQ(b.last_state(), "BACKUP") << b.proc.output();
    a.kill9();
    EXPECT_TRUE(b.wait_state("MASTER", master_down(100, 100) + 200ms)) << b.proc.output();
}

TEST(VrrpNetns, Ipv6VipMovesWithUnsolicitedNa) {
    lt::Lab lab;
    build_segment(lab);
    const std::string vip6 = "2001:db8::100";
    auto dump = lab.spawn("c", {"tcpdump", "-i", "eth0", "-nn", "-l", "icmp6"});
    lt::wait_until([] { return false; }, 500ms);
    auto a = start_router(lab, {"a", 200, {}, 100, {vip6 + "/64"}});
    auto b = start_router(lab, {"b", 100, {}, 100, {vip6 + "/64"}});
    ASSERT_TRUE(a.wait_state("MASTER", 3s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("BACKUP", 3s)) << b.proc.output();
    EXPECT_TRUE(has_address(lab, "a", vip6));
    EXPECT_TRUE(lt::wait_until([&] { return dump.output().find("neighbor advertisement, tgt is " + vip6) !=
                                            std::string::npos; }, 2s))
        << dump.output();
    auto r = lab.exec("c", {"ping", "-6", "-c", "1", "-W", "2", vip6});
    EXPECT_TRUE(r.ok()) << r.output;
    a.kill9();
    lab.ip("a", "link set eth0 down");
    ASSERT_TRUE(b.wait_state("MASTER", master_down(100, 100) + 200ms)) << b.proc.output();
    EXPECT_TRUE(has_address(lab, "b", vip6));
}

TEST(VrrpNetns, PartitionMakesTwoMastersAndHealingOne) {
    lt::Lab lab;
    build_segment(lab);
    auto a = start_router(lab, {"a", 200});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    cut_vrrp(lab);
    ASSERT_TRUE(b.wait_state("MASTER", 2s)) << b.proc.output();
    EXPECT_EQ(a.last_state(), "MASTER");
    auto dump = lab.spawn("c", {"tcpdump", "-i", "eth0", "-nn", "-e", "-l", "arp"});
    lt::wait_until([] { return false; }, 500ms);
    heal_vrrp(lab);
    const auto t0 = SteadyClock::now();
    // Within one advert interval (plus scheduling slack) b hears a and steps down.
    ASSERT_TRUE(b.wait_state("BACKUP", 1s)) << b.proc.output();
    const auto took = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    EXPECT_LE(took, 100ms + 50ms) << took.count() << " ms";
    EXPECT_EQ(a.last_state(), "MASTER");
    EXPECT_FALSE(has_address(lab, "b", kVip));
    EXPECT_TRUE(has_address(lab, "a", kVip));
    // a announced the VIP again: the segment had learned b's MAC for it meanwhile.
    const auto mac_a = mac_of(lab, "a");
    EXPECT_TRUE(lt::wait_until([&] { return dump.output().find(mac_a) != std::string::npos; }, 1s))
        << dump.output() << a.proc.output() << b.proc.output();
}

TEST(VrrpNetns, NotifyScriptRunsWithArgvAndATimeout) {
    lt::Lab lab;
    build_segment(lab);
    char tmpl[] = "/tmp/lvt-notify-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string script = dir + "/notify.sh", out = dir + "/calls";
    {
        std::ofstream s(script);
        // Records its arguments, then hangs: the instance must neither wait for it nor
        // leave it running past the timeout.
        s << "#!/bin/sh\necho \"$@\" >> " << out << "\nexec sleep 60\n";
    }
    ::chmod(script.c_str(), 0755);
    auto a = start_router(lab, {"a", 200, {"--notify", script, "--notify-timeout-ms", "300"}});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    auto calls = [&] {
        std::ifstream in(out);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    EXPECT_TRUE(lt::wait_until([&] { return calls().find("INSTANCE a MASTER 200") != std::string::npos; }, 2s))
        << calls();
    EXPECT_NE(calls().find("INSTANCE a BACKUP 200"), std::string::npos) << calls();
    // The loop kept running while the scripts hung: adverts went out on time.
    lt::wait_until([] { return false; }, 500ms);
    auto c = a.counters();
    EXPECT_GE(c["sent"], 4);
    // And the hanging scripts were killed at their timeout: only the instance is left.
    auto pids = lab.must("", {"ip", "netns", "pids", lab.netns_name("a")});
    EXPECT_EQ(std::count(pids.begin(), pids.end(), '\n'), 1) << pids;
    EXPECT_NE(a.proc.output().find("killed after its timeout"), std::string::npos) << a.proc.output();
    a.term();
    EXPECT_TRUE(lt::wait_until([&] { return calls().find("INSTANCE a STOP 200") != std::string::npos; }, 2s))
        << calls();
    lt::run({"rm", "-rf", dir});
}

TEST(VrrpNetns, SilentArpGatewayMeansFaultWithTheLinkStillUp) {
    lt::Lab lab;
    build_segment(lab);
    // c plays the gateway; a asks it by ARP every 100 ms and gives up after 3 silences.
    auto a = start_router(lab, {"a", 200,
                                {"--track-arp-target", "192.0.2.3", "--track-arp-interval-ms", "100",
                                 "--track-arp-fall", "3"}});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    lt::wait_until([] { return false; }, 500ms);
    EXPECT_EQ(a.last_state(), "MASTER") << "an answering gateway must not fault\n" << a.proc.output();
    // The gateway stops answering ARP; every link stays up.
    lab.ip("c", "link set eth0 arp off");
    const auto t0 = SteadyClock::now();
    ASSERT_TRUE(a.wait_state("FAULT", 1s)) << a.proc.output();
    EXPECT_LE(SteadyClock::now() - t0, 500ms);
    EXPECT_TRUE(b.wait_state("MASTER", 1s)) << b.proc.output();
    EXPECT_FALSE(has_address(lab, "a", kVip));
    lab.ip("c", "link set eth0 arp on");
    ASSERT_TRUE(a.wait_state("MASTER", 3s)) << a.proc.output();
    EXPECT_TRUE(b.wait_state("BACKUP", 1s));
}

TEST(VrrpNetns, GarpMasterRefreshRepeatsWhileMaster) {
    lt::Lab lab;
    build_segment(lab);
    auto dump = lab.spawn("c", {"tcpdump", "-i", "eth0", "-nn", "-l", "arp"});
    lt::wait_until([] { return false; }, 500ms);
    auto a = start_router(lab, {"a", 200,
                                {"--garp-repeat", "1", "--garp-delay-ms", "0", "--garp-refresh-ms", "200"}});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    auto seen = [&] {
        auto out = dump.output();
        int n = 0;
        for (std::size_t at = 0; (at = out.find("tell " + kVip + ",", at)) != std::string::npos; ++at) ++n;
        return n;
    };
    // One at takeover, then one every 200 ms.
    EXPECT_TRUE(lt::wait_until([&] { return seen() >= 5; }, 1500ms)) << seen() << "\n" << dump.output();
}

TEST(VrrpNetns, StartupErrorsNameTheProblem) {
    lt::Lab lab;
    build_segment(lab);
    auto missing = lab.exec("a", {kBinary, "--name", "x", "--interface", "eth9", "--vrid", "51", "--vip", kVip});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.output.find("interface eth9 does not exist"), std::string::npos) << missing.output;
    auto foreign = lab.exec("a", {kBinary, "--name", "x", "--interface", "eth0", "--vrid", "51", "--vip", kVip,
                                  "--unicast-src-ip", "192.0.2.77", "--unicast-peer", "192.0.2.2"});
    EXPECT_EQ(foreign.status, 1);
    EXPECT_NE(foreign.output.find("unicast_src_ip 192.0.2.77 is not an address of eth0"), std::string::npos)
        << foreign.output;
    auto invalid = lab.exec("a", {kBinary, "--name", "x", "--interface", "eth0", "--vrid", "0", "--vip", kVip});
    EXPECT_EQ(invalid.status, 1);
    EXPECT_NE(invalid.output.find("vrrp_instance x: virtual_router_id"), std::string::npos) << invalid.output;
}

TEST(VrrpNetns, ReloadChangesVipsAndPriorityWithoutDroppingTheVip) {
    lt::Lab lab;
    build_segment(lab);
    char tmpl[] = "/tmp/lvt-reload-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string args = dir + "/args";
    auto write_args = [&](const std::string& s) { std::ofstream(args) << s; };
    const std::string base = "--name a --interface eth0 --vrid 51 --advert-int-ms 100 ";
    write_args(base + "--priority 200 --vip 192.0.2.100/24");
    auto a = start_router(lab, {"a", 200, {"--reload-args", args}});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    const int ta = a.transitions();
    auto reloads = [&] {
        auto out = a.proc.output();
        int n = 0;
        for (std::size_t at = 0; (at = out.find("RELOAD ", at)) != std::string::npos; ++at) ++n;
        return n;
    };

    // A second VIP: added and announced at once, the first never leaves.
    write_args(base + "--priority 200 --vip 192.0.2.100/24 --vip 192.0.2.101/24");
    ::kill(a.proc.pid(), SIGHUP);
    ASSERT_TRUE(lt::wait_until([&] { return reloads() == 1; }, 2s)) << a.proc.output();
    EXPECT_NE(a.proc.output().find("RELOAD ok"), std::string::npos) << a.proc.output();
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.100"));
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.101"));
    EXPECT_EQ(a.transitions(), ta);

    // A changed VRID is not a reload: refused, nothing changes.
    write_args("--name a --interface eth0 --vrid 52 --advert-int-ms 100 --priority 200 --vip 192.0.2.100/24");
    ::kill(a.proc.pid(), SIGHUP);
    ASSERT_TRUE(lt::wait_until([&] { return reloads() == 2; }, 2s));
    EXPECT_NE(a.proc.output().find("RELOAD error: VRRP instance a: interface, virtual_router_id"), std::string::npos)
        << a.proc.output();
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.101"));
    EXPECT_EQ(a.last_state(), "MASTER");

    // Priority below the peer's: the next adverts carry it and b (preempting) takes over.
    write_args(base + "--priority 50 --vip 192.0.2.100/24");
    ::kill(a.proc.pid(), SIGHUP);
    ASSERT_TRUE(lt::wait_until([&] { return reloads() == 3; }, 2s));
    EXPECT_TRUE(b.wait_state("MASTER", 2s)) << b.proc.output();
    EXPECT_TRUE(a.wait_state("BACKUP", 2s)) << a.proc.output();
    lt::run({"rm", "-rf", dir});
}

TEST(VrrpNetns, DifferentVipListsAreAcceptedButReported) {
    lt::Lab lab;
    build_segment(lab);
    auto a = start_router(lab, {"a", 200, {}, 100, {kVip + "/24", "192.0.2.101/24"}});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    lt::wait_until([] { return false; }, 600ms);
    // Dropping the adverts would make b a second master; it stays backup and says why.
    EXPECT_EQ(b.last_state(), "BACKUP") << b.proc.output();
    auto out = b.proc.output();
    EXPECT_NE(out.find("192.0.2.1 advertises VIPs 192.0.2.100, 192.0.2.101, ours are 192.0.2.100"), std::string::npos)
        << out;
    int lines = 0;
    for (std::size_t at = 0; (at = out.find("advertises VIPs", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 1) << "rate-limited";
}
