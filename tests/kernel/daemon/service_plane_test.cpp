// lvsd driving the real kernel's IPVS (in the VM) from its config and its health checks:
// a real server whose check fails leaves the table and returns when its listener comes
// up; a table flushed behind lvsd's back is restored by the periodic reconcile; a
// service lvsd did not configure survives; a reload applies exactly the changed weight;
// a broken reload changes nothing.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

// rs1 listens, rs2 never does (until the test starts it), rs3 has no check.
std::string config(const std::string& socket, int rs3_weight) {
    return R"(global_defs = { control_socket = ")" + socket + R"("; reconcile_interval = 1; };
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "wlc"; lb_kind = "DR";
    delay_loop = 0.2;
    real_servers = (
        { address = "192.0.2.21"; weight = 1; TCP_CHECK = { connect_timeout = 0.3; retry = 0; rise = 1; }; },
        { address = "192.0.2.22"; weight = 1; TCP_CHECK = { connect_timeout = 0.3; retry = 0; rise = 1; }; },
        { address = "192.0.2.23"; weight = )" +
           std::to_string(rs3_weight) + R"(; }
    );
} );
)";
}

class ServicePlaneInKernel : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("lb");
        lab_.netns("rs");
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        lab_.veth("lb", "eth0", "sw", "lb0");
        lab_.veth("rs", "eth0", "sw", "rs0");
        lab_.enslave("sw", "lb0", "br0");
        lab_.enslave("sw", "rs0", "br0");
        lab_.address("lb", "eth0", "192.0.2.2/24");
        for (const char* a : {"192.0.2.21/24", "192.0.2.22/24", "192.0.2.23/24"})
            lab_.address("rs", "eth0", a);
        dir_ = "/tmp/" + lab_.prefix() + "plane";
        ::mkdir(dir_.c_str(), 0700);
        ::mkdir((dir_ + "/www").c_str(), 0700);
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        std::ofstream(conf_) << config(socket_, 1);
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    std::string table() { return lab_.exec("lb", {"ipvsadm", "-Ln"}).output; }
    // `-> 192.0.2.21:8080  Route  1` with any spacing.
    static bool has_dest(const std::string& t, const std::string& ep, int weight) {
        return std::regex_search(t, std::regex("-> " + ep + " +Route +" + std::to_string(weight) + " "));
    }
    static bool has(const std::string& t, const std::string& ep) {
        return t.find("-> " + ep + " ") != std::string::npos;
    }
    Process listener(const std::string& ip) {
        return lab_.spawn("rs", {"busybox", "httpd", "-f", "-p", ip + ":8080", "-h", dir_ + "/www"});
    }

    Lab lab_;
    std::string dir_, conf_, socket_;
};

}  // namespace

TEST_F(ServicePlaneInKernel, HealthReconcileAndReload) {
    auto rs1 = listener("192.0.2.21");
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});

    // rs2 fails its check and leaves; rs1 (listening) and rs3 (no check) stay.
    ASSERT_TRUE(wait_until([&] {
        auto t = table();
        return has_dest(t, "192.0.2.21:8080", 1) && has_dest(t, "192.0.2.23:8080", 1) &&
               !has(t, "192.0.2.22:8080");
    }, 10s)) << table() << lvsd.output();
    EXPECT_NE(lvsd.output().find("real server 192.0.2.22:8080 DOWN"), std::string::npos)
        << lvsd.output();

    // rs2 comes up: it returns with its weight.
    auto rs2 = listener("192.0.2.22");
    ASSERT_TRUE(wait_until([&] { return has_dest(table(), "192.0.2.22:8080", 1); }, 10s))
        << table() << lvsd.output();
    EXPECT_NE(lvsd.output().find("real server 192.0.2.22:8080 UP"), std::string::npos)
        << lvsd.output();

    // A foreign service and a flush behind lvsd's back: the periodic reconcile restores
    // lvsd's service and leaves the foreign one alone.
    lab_.must("lb", {"ipvsadm", "-C"});
    lab_.must("lb", {"ipvsadm", "-A", "-t", "198.51.100.1:80", "-s", "rr"});
    ASSERT_TRUE(wait_until([&] {
        auto t = table();
        return has_dest(t, "192.0.2.21:8080", 1) && has_dest(t, "192.0.2.22:8080", 1) &&
               has_dest(t, "192.0.2.23:8080", 1);
    }, 5s)) << table() << lvsd.output();
    EXPECT_NE(table().find("TCP  198.51.100.1:80 rr"), std::string::npos) << table();

    // A reload that changes one weight: exactly one operation.
    std::ofstream(conf_) << config(socket_, 7);
    auto reload = lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"});
    EXPECT_EQ(reload.status, 0) << reload.output;
    EXPECT_TRUE(has_dest(table(), "192.0.2.23:8080", 7)) << table();
    EXPECT_NE(lvsd.output().find("IPVS reconcile (configuration applied): 1 operation sent, 0 failed"),
              std::string::npos)
        << lvsd.output();

    // A broken reload changes nothing.
    const std::string before = table();
    std::ofstream(conf_) << config(socket_, 7) << "virtual_servers = oops;\n";
    auto rejected = lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"});
    EXPECT_EQ(rejected.status, 1) << rejected.output;
    EXPECT_EQ(table(), before);

    auto json = lab_.exec("lb", {kLvsctl, "-s", socket_, "status", "--json"});
    EXPECT_NE(json.output.find(R"("address":"192.0.2.23","port":8080,"healthy":true,"checked":false,"weight":7)"),
              std::string::npos)
        << json.output;

    // SIGTERM: exit 0; the table stays for the next start (and the standby has it anyway).
    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    EXPECT_TRUE(has(table(), "192.0.2.21:8080")) << table();
}
