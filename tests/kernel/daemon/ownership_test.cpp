// lvsd leaves the IPVS table in place when it stops, and remembers which services were
// its own: a service dropped from the config while lvsd was down is deleted by the next
// run, a service someone else made stays, and a file that went missing (reboot) makes
// every unconfigured service foreign again.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, bool with_second) {
    std::string second = with_second ? R"(, {
    address = "192.0.2.11"; port = 80; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    real_servers = ( { address = "192.0.2.22"; port = 80; weight = 1; } );
})"
                                     : "";
    return R"(global_defs = { control_socket = ")" + socket + R"("; };
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    real_servers = ( { address = "192.0.2.21"; port = 8080; weight = 1; } );
})" + second + R"( );
)";
}

}  // namespace

TEST(IpvsOwnership, ServicesDroppedWhileLvsdWasDownAreRemovedOthersStay) {
    Lab lab;
    lab.netns("lb");
    const std::string dir = "/tmp/" + lab.prefix() + "owned";
    ::mkdir(dir.c_str(), 0700);
    const std::string conf = dir + "/lvsd.conf", socket = dir + "/ctl.sock";
    auto table = [&] { return lab.exec("lb", {"ipvsadm", "-Ln"}).output; };
    auto run_lvsd_once = [&](bool with_second) {
        std::ofstream(conf) << config(socket, with_second);
        auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
        EXPECT_TRUE(wait_until([&] {
            return lab.exec("lb", {kLvsctl, "-s", socket, "status"}).output.find("generation 1") !=
                   std::string::npos;
        }, 30s)) << lvsd.output();
        ::kill(lvsd.pid(), SIGTERM);
        EXPECT_TRUE(wait_until([&] { return !lvsd.running(); }, 10s));
        EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
        return lvsd.output();
    };

    run_lvsd_once(true);
    ASSERT_NE(table().find("192.0.2.11:80"), std::string::npos) << table();
    std::string owned;
    std::getline(std::ifstream(dir + "/ctl.owned") >> std::ws, owned, '\0');
    EXPECT_NE(owned.find("192.0.2.10:8080/tcp"), std::string::npos) << owned;
    EXPECT_NE(owned.find("192.0.2.11:80/tcp"), std::string::npos) << owned;

    // Someone else's service, made while lvsd is down.
    ASSERT_EQ(lab.exec("lb", {"ipvsadm", "-A", "-t", "203.0.113.5:443", "-s", "rr"}).status, 0);

    // Started again without 192.0.2.11: it was lvsd's, so it goes; the foreign one stays.
    auto out = run_lvsd_once(false);
    EXPECT_EQ(table().find("192.0.2.11:80"), std::string::npos) << table() << out;
    EXPECT_NE(table().find("192.0.2.10:8080"), std::string::npos) << table();
    EXPECT_NE(table().find("203.0.113.5:443"), std::string::npos) << table();

    // The file gone (a reboot clears /run, and the kernel's table with it; here the table
    // stays): what lvsd does not configure is not known to be its own, so it stays.
    run_lvsd_once(true);
    ASSERT_EQ(::unlink((dir + "/ctl.owned").c_str()), 0);
    run_lvsd_once(false);
    EXPECT_NE(table().find("192.0.2.11:80"), std::string::npos) << table();
    EXPECT_NE(table().find("203.0.113.5:443"), std::string::npos) << table();
    run({"rm", "-rf", dir});
}
