// Announced VIPs with the real lvsd (issue #14), in the VM (lvsd needs IPVS to start its
// services): one balancer namespace, a real server (busybox httpd on 127.0.0.2:8080)
// checked every 0.3 s. The host route 192.0.2.10/32 in table 100, protocol 250, follows
// the verdict; `lvsctl drain --balancer` withdraws it and `undrain --balancer` restores
// it; an invalid reload changes nothing; a route deleted by hand comes back; after
// kill -9 the route stays and the next lvsd adopts it without deleting it (`ip monitor
// route`); SIGTERM withdraws it and keeps the address; a reload that stops announcing
// removes route and address.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;
using namespace std::chrono_literals;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, bool announce) {
    return "global_defs = { control_socket = \"" + socket + "\"; };\n"
           "virtual_servers = ( { address = \"192.0.2.10\"; port = 8080; delay_loop = 0.3;\n" +
           std::string(announce ? "  announce = true;\n" : "  lb_algo = \"mh\";\n") +
           "  real_servers = ( { address = \"127.0.0.2\";\n"
           "    TCP_CHECK = { connect_timeout = 1; retry = 0; half_open = false; }; } ); } );\n";
}

}  // namespace

TEST(AnnounceDaemon, RouteFollowsHealthDrainRestartAndStop) {
    Lab lab;
    lab.netns("lb");
    const std::string dir = "/tmp/" + lab.prefix() + "announce";
    std::filesystem::create_directories(dir + "/www");
    struct RemoveDir {
        std::string path;
        ~RemoveDir() { std::filesystem::remove_all(path); }
    } remove_dir{dir};
    const std::string conf = dir + "/lvsd.conf", sock = dir + "/ctl.sock";
    std::ofstream(conf) << config(sock, true);
    auto lvsctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {kLvsctl, "-s", sock});
        return lab.exec("lb", args);
    };
    // A table without routes does not exist for `ip route show`: an error there is "none".
    auto routes = [&] { return lab.sh("lb", "ip route show table 100 proto 250 2>/dev/null").output; };
    auto announced = [&] { return routes().find("192.0.2.10 dev lo") != std::string::npos; };
    auto on_lo = [&] { return lab.ip("lb", "addr show dev lo").find("192.0.2.10/32") != std::string::npos; };

    auto httpd = lab.spawn("lb", {"busybox", "httpd", "-f", "-p", "127.0.0.2:8080", "-h", dir + "/www"});
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until(announced, 30s)) << routes() << lvsd.output();
    EXPECT_TRUE(on_lo());
    auto status = lvsctl({"status"}).output;
    EXPECT_NE(status.find("Announced VIPs: table 100, protocol 250, dev lo"), std::string::npos) << status;
    EXPECT_NE(lvsctl({"status", "--json"}).output.find(R"("state":"announced","why":"its service has its quorum","route":true)"),
              std::string::npos);

    // The real server fails: withdrawn.
    httpd.stop();
    const auto failed = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_until([&] { return !announced(); }, 10s)) << routes() << lvsd.output();
    std::printf("[ figures ] route withdrawn %.0f ms after the real server stopped (checks every 300 ms, fall 1; TCG)\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - failed).count());
    EXPECT_NE(lvsctl({"status"}).output.find("quorum lost: TCP 192.0.2.10:8080"), std::string::npos);
    EXPECT_TRUE(on_lo());
    httpd = lab.spawn("lb", {"busybox", "httpd", "-f", "-p", "127.0.0.2:8080", "-h", dir + "/www"});
    ASSERT_TRUE(wait_until(announced, 10s)) << routes() << lvsd.output();

    // drain --balancer withdraws at once; undrain --balancer restores.
    auto drained = lvsctl({"drain", "--balancer"});
    EXPECT_EQ(drained.status, 0) << drained.output;
    EXPECT_FALSE(announced()) << routes();
    EXPECT_NE(lvsctl({"status"}).output.find("balancer drained"), std::string::npos);
    auto undrained = lvsctl({"undrain", "--balancer"});
    EXPECT_EQ(undrained.status, 0) << undrained.output;
    EXPECT_TRUE(announced()) << routes();

    // An invalid reload changes nothing.
    std::ofstream(conf) << config(sock, true) << "global_defs = { };\n";
    EXPECT_NE(lvsctl({"reload"}).status, 0);
    EXPECT_TRUE(announced()) << routes();
    std::ofstream(conf) << config(sock, true);

    // Deleted by hand: repaired.
    lab.ip("lb", "route del 192.0.2.10/32 table 100 proto 250");
    EXPECT_TRUE(wait_until(announced, 5s)) << routes() << lvsd.output();

    // kill -9: the route stays; the next lvsd adopts it without a delete.
    ASSERT_EQ(::kill(lvsd.pid(), SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_TRUE(announced()) << routes();
    auto monitor = lab.spawn("lb", {"stdbuf", "-oL", "ip", "monitor", "route"});
    // A marker route (not a VIP of the config), added until the monitor shows it: then it
    // listens.
    ASSERT_TRUE(wait_until([&] {
        lab.sh("lb", "ip route del 198.51.100.99/32 table 100 2>/dev/null; ip route add 198.51.100.99/32 dev lo table 100 proto 250");
        return monitor.output().find("198.51.100.99") != std::string::npos;
    }, 5s, 200ms)) << monitor.output();
    lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until([&] { return lvsctl({"status"}).output.find("its service has its quorum") != std::string::npos; },
                           30s))
        << lvsctl({"status"}).output << lvsd.output();
    EXPECT_EQ(routes().find("198.51.100.99"), std::string::npos) << routes();
    EXPECT_EQ(monitor.output().find("Deleted 192.0.2.10"), std::string::npos) << monitor.output();
    EXPECT_NE(lvsd.output().find("adopted those of announced VIPs (192.0.2.10)"), std::string::npos) << lvsd.output();
    EXPECT_TRUE(announced());

    // SIGTERM withdraws; the address stays.
    auto stopped = lvsd.stop(10s);
    EXPECT_EQ(stopped.status, 0) << stopped.output;
    EXPECT_FALSE(announced()) << routes();
    EXPECT_TRUE(on_lo());

    // A reload that stops announcing removes route and address.
    lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until(announced, 30s)) << routes() << lvsd.output();
    std::ofstream(conf) << config(sock, false);
    auto reloaded = lvsctl({"reload"});
    EXPECT_EQ(reloaded.status, 0) << reloaded.output;
    EXPECT_FALSE(announced()) << routes();
    EXPECT_FALSE(on_lo());
    lvsd.stop(10s);
}
