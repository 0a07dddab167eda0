// The control socket's directory removed while lvsd runs (`rm -rf /run/lvsd` by hand, a
// tmpfiles clean-up): lvsd notices, re-creates the directory, takes its lock file again
// and binds the socket again, with one warning; `lvsctl status` works again without a
// restart, and a second lvsd is still refused. A VRRP-only configuration: the host has
// no IPVS.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "ctl/control.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {
const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}
}  // namespace

TEST(ControlSocketDirectory, RemovedWhileRunningIsMadeAgain) {
    Lab lab;
    lab.netns("lb");
    lab.netns("sw");
    lab.bridge("sw", "br0");
    lab.veth("lb", "eth0", "sw", "lb0");
    lab.enslave("sw", "lb0", "br0");
    lab.address("lb", "eth0", "192.0.2.2/24");
    const std::string top = "/tmp/" + lab.prefix() + "ctldir";
    const std::string dir = top + "/run";  // the socket's own directory, removed below
    ASSERT_EQ(::mkdir(top.c_str(), 0700), 0);
    const std::string conf = top + "/lvsd.conf";
    const std::string sock = dir + "/lvsd.sock";
    std::ofstream(conf) << "global_defs = { control_socket = \"" << sock << "\"; };\n"
                           "vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51;\n"
                           "  priority = 150; advert_int = 1; virtual_ipaddress = ( \"192.0.2.10/24\" ); } );\n";
    auto status = [&] { return lab.exec("lb", {kLvsctl, "-s", sock, "status"}); };
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until([&] { return status().output.find("VI_1") != std::string::npos; }, 10s)) << lvsd.output();

    ASSERT_EQ(run({"rm", "-rf", dir}).status, 0);
    auto gone = status();
    EXPECT_NE(gone.status, 0) << "lvsctl reached lvsd through a removed socket?\n" << gone.output;

    // Within the watch interval (and then some for a loaded machine).
    const auto bound = lvsd::ctl::ControlServer::kWatchInterval + 5s;
    ASSERT_TRUE(wait_until([&] { return status().output.find("VI_1") != std::string::npos; }, bound))
        << status().output << "\n" << lvsd.output();
    EXPECT_EQ(status().status, 0);
    EXPECT_EQ(count(lvsd.output(), "was removed while lvsd ran; it is listening there again"), 1u) << lvsd.output();
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(::stat((dir + "/lvsd.lock").c_str(), &st), 0) << "the lock file was not taken again";

    // The lock holds again: a second lvsd is refused and leaves the socket alone.
    auto second = lab.exec("lb", {kLvsd, "-f", conf}, 10s);
    EXPECT_EQ(second.status, 1) << second.output;
    EXPECT_NE(second.output.find("another lvsd"), std::string::npos) << second.output;
    EXPECT_EQ(status().status, 0) << status().output;

    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket is left behind";
    run({"rm", "-rf", top});
}
