// A virtual_server_group programmed into the real kernel's IPVS (in the VM): every
// member of the group (an address range and a fwmark) becomes a service with the group's
// real servers, as `ipvsadm -Ln` shows; a reload that adds one entry adds exactly that
// service (one service and its one real server: two operations), and one that drops it
// deletes exactly that service.
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

std::string config(const std::string& socket, const std::string& extra_entry) {
    return R"(global_defs = { control_socket = ")" + socket + R"("; reconcile_interval = 1; };
virtual_server_groups = ( { name = "WEB"; entries = [ "192.0.2.10-12 8080", "fwmark 7")" + extra_entry + R"( ]; } );
virtual_servers = ( {
    group = "WEB"; lb_algo = "wrr"; lb_kind = "DR";
    real_servers = ( { address = "192.0.2.21"; weight = 3; } );
} );
)";
}

class PoolsInKernel : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("lb");
        dir_ = "/tmp/" + lab_.prefix() + "pools";
        ::mkdir(dir_.c_str(), 0700);
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        std::ofstream(conf_) << config(socket_, "");
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    std::string table() { return lab_.exec("lb", {"ipvsadm", "-Ln"}).output; }
    // The service's header line followed by its one real server with weight 3.
    static bool served(const std::string& t, const std::string& head) {
        return std::regex_search(t, std::regex(head + " +wrr *\\n +-> 192\\.0\\.2\\.21:[0-9]+ +Route +3 "));
    }
    static int services(const std::string& t) {
        int n = 0;
        for (std::size_t at = 0; (at = t.find("\nTCP  ", at)) != std::string::npos; ++at) ++n;
        for (std::size_t at = 0; (at = t.find("\nFWM  ", at)) != std::string::npos; ++at) ++n;
        return n;
    }

    Lab lab_;
    std::string dir_, conf_, socket_;
};

}  // namespace

TEST_F(PoolsInKernel, EveryGroupEntryIsProgrammedAndAReloadAddsExactlyOne) {
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});
    ASSERT_TRUE(wait_until([&] {
        auto t = table();
        return served(t, "TCP  192\\.0\\.2\\.10:8080") && served(t, "TCP  192\\.0\\.2\\.11:8080") &&
               served(t, "TCP  192\\.0\\.2\\.12:8080") && served(t, "FWM  7");
    }, 10s)) << table() << lvsd.output();
    EXPECT_EQ(services(table()), 4) << table();

    std::ofstream(conf_) << config(socket_, R"(, "192.0.2.13 8080")");
    auto reload = lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"});
    ASSERT_EQ(reload.status, 0) << reload.output;
    EXPECT_TRUE(served(table(), "TCP  192\\.0\\.2\\.13:8080")) << table();
    EXPECT_EQ(services(table()), 5) << table();
    EXPECT_NE(lvsd.output().find("IPVS reconcile (configuration applied): 2 operations sent, 0 failed"),
              std::string::npos)
        << lvsd.output();

    std::ofstream(conf_) << config(socket_, "");
    reload = lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"});
    ASSERT_EQ(reload.status, 0) << reload.output;
    EXPECT_EQ(table().find("192.0.2.13:8080"), std::string::npos) << table();
    EXPECT_EQ(services(table()), 4) << table();
    EXPECT_NE(lvsd.output().find("IPVS reconcile (configuration applied): 1 operation sent, 0 failed"),
              std::string::npos)
        << lvsd.output();
}
