// A vrrp_sync_group of two instances per router (front VIP .100 on VRID 51, back VIP
// .101 on VRID 52): when one instance of the master faults, the other follows, so both
// VIPs move to the peer together and come back together.
#include "vrrp_lab.hpp"

using namespace vrrp_lab;

namespace {

lt::Process start_pair(lt::Lab& lab, const std::string& ns, int prio, bool track) {
    std::vector<std::string> argv{kBinary, "--sync-group", "g",
                                  "--name", ns + "front", "--interface", "eth0", "--vrid", "51",
                                  "--priority", std::to_string(prio), "--advert-int-ms", "100",
                                  "--vip", "192.0.2.100/24",
                                  "--next",
                                  "--name", ns + "back", "--interface", "eth0", "--vrid", "52",
                                  "--priority", std::to_string(prio), "--advert-int-ms", "100",
                                  "--vip", "192.0.2.101/24"};
    if (track) argv.insert(argv.end(), {"--track-interface", "up0"});
    return lab.spawn(ns, argv);
}

}  // namespace

TEST(VrrpSyncGroup, OneFaultMovesTheWholeGroup) {
    lt::Lab lab;
    build_segment(lab);
    lab.ip("a", "link add up0 type veth peer name up1");
    lab.ip("a", "link set up1 up");
    lab.ip("a", "link set up0 up");
    // One process per router; both of its instances print their STATE lines into it.
    Router af{"afront", start_pair(lab, "a", 200, true)};
    Router bf{"bfront", start_pair(lab, "b", 100, false)};
    auto state = [](Router& r, const std::string& name) {
        auto out = r.proc.output();
        auto key = "STATE " + name + " ";
        auto at = out.rfind(key);
        if (at == std::string::npos) return std::string();
        return out.substr(at + key.size(), out.find('\n', at) - at - key.size());
    };
    auto all = [&](Router& r, const std::string& ns, const std::string& s) {
        return state(r, ns + "front") == s && state(r, ns + "back") == s;
    };
    ASSERT_TRUE(lt::wait_until([&] { return all(af, "a", "MASTER") && all(bf, "b", "BACKUP"); }, 3s))
        << af.proc.output() << bf.proc.output();
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.100"));
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.101"));

    // Only the back instance tracks up0; the front one must follow it into FAULT.
    lab.ip("a", "link set up0 down");
    ASSERT_TRUE(lt::wait_until([&] { return all(af, "a", "FAULT") && all(bf, "b", "MASTER"); }, 2s))
        << af.proc.output() << bf.proc.output();
    EXPECT_FALSE(has_address(lab, "a", "192.0.2.100"));
    EXPECT_FALSE(has_address(lab, "a", "192.0.2.101"));
    EXPECT_TRUE(has_address(lab, "b", "192.0.2.100"));
    EXPECT_TRUE(has_address(lab, "b", "192.0.2.101"));

    lab.ip("a", "link set up0 up");
    ASSERT_TRUE(lt::wait_until([&] { return all(af, "a", "MASTER") && all(bf, "b", "BACKUP"); }, 3s))
        << af.proc.output() << bf.proc.output();
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.100"));
    EXPECT_TRUE(has_address(lab, "a", "192.0.2.101"));
}
