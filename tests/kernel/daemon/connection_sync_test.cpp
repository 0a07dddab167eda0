// IPVS connection sync between two lvsd balancers, against the real kernel in the VM:
// the sync daemon's role follows the VRRP instance (master on the master, backup on the
// backup, switched at takeover), a connection made through the master appears in the
// backup's table, and after the master's host dies that connection goes on through the
// new master to the same real server. Without sync the new master would answer the
// connection's next segment with an RST (IPVS schedules only on SYN).
#include <signal.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, int priority) {
    return R"(global_defs = {
    control_socket = ")" + socket + R"(";
    lvs_sync_daemon = { interface = "eth0"; instance = "VI_1"; };
};
vrrp_instances = ( {
    name = "VI_1"; interface = "eth0"; virtual_router_id = 51; priority = )" +
           std::to_string(priority) + R"(;
    version = 3; advert_int = 0.2;
    virtual_ipaddress = [ "192.0.2.10/24" ];
} );
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    real_servers = ( { address = "192.0.2.21"; port = 8080; weight = 1; } );
} );
)";
}

class ConnectionSync : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        for (const char* ns : {"lb1", "lb2", "rs", "client"}) {
            lab_.netns(ns);
            lab_.veth(ns, "eth0", "sw", std::string(ns) + "p");
            lab_.enslave("sw", std::string(ns) + "p", "br0");
        }
        lab_.address("lb1", "eth0", "192.0.2.2/24");
        lab_.address("lb2", "eth0", "192.0.2.3/24");
        lab_.address("rs", "eth0", "192.0.2.21/24");
        lab_.address("client", "eth0", "192.0.2.50/24");
        dir_ = "/tmp/" + lab_.prefix() + "sync";
        run({"mkdir", "-p", dir_});
        std::ofstream(dir_ + "/lb1.conf") << config(dir_ + "/lb1.sock", 150);
        std::ofstream(dir_ + "/lb2.conf") << config(dir_ + "/lb2.sock", 100);
        auto up = lab_.exec("rs", {kLvsctl, "realserver", "up", "--vip", "192.0.2.10"});
        ASSERT_EQ(up.status, 0) << up.output;
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    std::string daemons(const char* ns) {
        return lab_.exec(ns, {"ipvsadm", "-L", "--daemon"}).output;
    }
    std::string connections(const char* ns) {
        return lab_.exec(ns, {"ipvsadm", "-L", "-n", "-c"}).output;
    }
    std::string status(const char* ns) {
        return lab_.exec(ns, {kLvsctl, "-s", dir_ + "/" + ns + ".sock", "status", "--json"}).output;
    }

    Lab lab_;
    std::string dir_;
};

}  // namespace

TEST_F(ConnectionSync, FollowsVrrpAndCarriesConnectionsThroughAFailover) {
    auto lb1 = lab_.spawn("lb1", {kLvsd, "-f", dir_ + "/lb1.conf"});
    auto lb2 = lab_.spawn("lb2", {kLvsd, "-f", dir_ + "/lb2.conf"});
    // Generous: the first start in the VM loads ip_vs from 9p under TCG.
    ASSERT_TRUE(wait_until([&] { return daemons("lb1").find("master sync daemon") != std::string::npos; },
                           30s))
        << daemons("lb1") << lb1.output();
    ASSERT_TRUE(wait_until([&] { return daemons("lb2").find("backup sync daemon") != std::string::npos; },
                           30s))
        << daemons("lb2") << lb2.output();
    EXPECT_EQ(daemons("lb1").find("backup sync daemon"), std::string::npos) << daemons("lb1");
    EXPECT_EQ(daemons("lb2").find("master sync daemon"), std::string::npos) << daemons("lb2");
    EXPECT_NE(status("lb1").find(R"("sync":{"role":"master","interface":"eth0","syncid":51)"),
              std::string::npos)
        << status("lb1");

    // A connection through the VIP: the client's lines reach the real server's listener.
    // The listener's stdin stays open, so that it never closes its side first.
    auto server = lab_.spawn("rs", {"sh", "-c", "sleep 60 | busybox nc -l -p 8080"});
    ASSERT_TRUE(wait_until([&] {
        return lab_.exec("rs", {"ss", "-Hltn", "sport = :8080"}).output.find("8080") != std::string::npos;
    }, 10s)) << server.output();
    const std::string go = dir_ + "/go";
    auto client = lab_.spawn("client", {"sh", "-c",
                                        "(echo before; while [ ! -e " + go +
                                            " ]; do sleep 0.1; done; echo after; sleep 30) | "
                                            "busybox nc 192.0.2.10 8080"});
    ASSERT_TRUE(wait_until([&] { return server.output().find("before") != std::string::npos; }, 10s))
        << server.output() << client.output();
    EXPECT_NE(connections("lb1").find("192.0.2.21:8080"), std::string::npos) << connections("lb1");
    // lvsctl shows the kernel's count of it.
    EXPECT_NE(status("lb1").find(R"("active_connections":1,"inactive_connections":0)"), std::string::npos)
        << status("lb1");
    EXPECT_NE(lab_.exec("lb1", {kLvsctl, "-s", dir_ + "/lb1.sock", "status"}).output.find("conns 1/0"),
              std::string::npos);
    // The master's sync daemon sends it to the backup's table.
    ASSERT_TRUE(wait_until([&] {
        auto c = connections("lb2");
        return c.find("ESTABLISHED") != std::string::npos && c.find("192.0.2.21:8080") != std::string::npos;
    }, 10s)) << connections("lb2");

    // lb1's host dies: lvsd killed, its link gone (a kill -9 alone would leave lb1's
    // VIP and table in place and still forwarding).
    ASSERT_EQ(::kill(lb1.pid(), SIGKILL), 0);
    lab_.ip("lb1", "link set eth0 down");
    ASSERT_TRUE(wait_until([&] { return daemons("lb2").find("master sync daemon") != std::string::npos; },
                           10s))
        << daemons("lb2") << lb2.output();
    EXPECT_EQ(daemons("lb2").find("backup sync daemon"), std::string::npos) << daemons("lb2");
    EXPECT_NE(status("lb2").find(R"("name":"VI_1","state":"MASTER")"), std::string::npos) << status("lb2");

    // The established connection goes on through lb2 to the same real server.
    run({"touch", go});
    EXPECT_TRUE(wait_until([&] { return server.output().find("after") != std::string::npos; }, 10s))
        << "server got: " << server.output() << "\nclient: " << client.output()
        << "\nlb2: " << connections("lb2");
    EXPECT_TRUE(client.running()) << client.output();

    // A graceful stop takes the sync daemon with it.
    ASSERT_EQ(::kill(lb2.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lb2.running(); }, 10s));
    EXPECT_EQ(lb2.status(), 0) << lb2.output();
    EXPECT_EQ(daemons("lb2").find("sync daemon"), std::string::npos) << daemons("lb2");
}
