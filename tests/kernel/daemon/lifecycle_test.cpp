// The daemon's signal and control contract with the real binary, run as root inside a
// namespace of its own, in the VM (the reference config has a virtual service, so lvsd
// needs IPVS): SIGHUP applies a valid file and keeps the running configuration on a
// broken one; SIGTERM exits 0 and removes the control socket.
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

std::string reference_config(const std::string& socket) {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/etc/lvsd.conf");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text = std::regex_replace(text, std::regex("/run/lvsd/lvsd.sock"), socket);
    text = std::regex_replace(text, std::regex("192\\.168\\.100\\."), "192.0.2.");
    return text;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class DaemonLifecycle : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("lb");
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        lab_.veth("lb", "eth0", "sw", "lb0");
        lab_.enslave("sw", "lb0", "br0");
        lab_.address("lb", "eth0", "192.0.2.2/24");
        dir_ = "/tmp/" + lab_.prefix() + "daemon";
        ::mkdir(dir_.c_str(), 0700);
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        write(conf_, reference_config(socket_));
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    RunResult lvsctl(const std::vector<std::string>& args) {
        std::vector<std::string> argv{kLvsctl, "-s", socket_};
        argv.insert(argv.end(), args.begin(), args.end());
        return lab_.exec("lb", argv);
    }
    // Generous: the first start in a fresh VM loads ip_vs and its scheduler from 9p
    // under TCG, which takes seconds. It returns as soon as the status is there.
    bool wait_for_status(const std::string& needle) {
        return wait_until([&] { return lvsctl({"status"}).output.find(needle) != std::string::npos; },
                          30s);
    }

    Lab lab_;
    std::string dir_, conf_, socket_;
};

}  // namespace

TEST_F(DaemonLifecycle, ReloadAppliesValidAndKeepsRunningOnBroken) {
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});
    ASSERT_TRUE(wait_for_status("generation 1")) << lvsd.output();

    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);

    // A broken file on SIGHUP: one error line naming FILE:LINE, daemon keeps generation 1.
    std::string good = reference_config(socket_);
    write(conf_, good + "\nvirtual_servers = oops;\n");
    ASSERT_EQ(::kill(lvsd.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return lvsd.output().find("reload rejected") != std::string::npos; },
                           5s))
        << lvsd.output();
    EXPECT_NE(lvsd.output().find(conf_ + ":"), std::string::npos) << lvsd.output();
    EXPECT_TRUE(lvsd.running());
    EXPECT_TRUE(wait_for_status("generation 1"));

    // The same through lvsctl: the verdict comes back to the operator.
    auto rejected = lvsctl({"reload"});
    EXPECT_EQ(rejected.status, 1) << rejected.output;
    EXPECT_NE(rejected.output.find("reload rejected"), std::string::npos) << rejected.output;

    // A valid change is taken.
    write(conf_, std::regex_replace(good, std::regex("weight = 1;"), "weight = 2;"));
    auto accepted = lvsctl({"reload"});
    EXPECT_EQ(accepted.status, 0) << accepted.output;
    EXPECT_TRUE(wait_for_status("generation 2"));
    ASSERT_EQ(::kill(lvsd.pid(), SIGHUP), 0);
    EXPECT_TRUE(wait_for_status("generation 3"));

    auto json = lvsctl({"status", "--json"});
    EXPECT_EQ(json.status, 0);
    EXPECT_NE(json.output.find("\"generation\":3"), std::string::npos) << json.output;

    // SIGTERM: exit 0, socket gone.
    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    EXPECT_NE(::stat(socket_.c_str(), &st), 0);
}

TEST_F(DaemonLifecycle, RefusesToStartOnABrokenFile) {
    write(conf_, "virtual_servers = oops;\n");
    auto r = lab_.exec("lb", {kLvsd, "-f", conf_}, 5s);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find(conf_ + ":1: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("not starting"), std::string::npos) << r.output;
}
