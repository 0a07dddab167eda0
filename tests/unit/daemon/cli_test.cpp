// The `lvsd -t` contract (DESIGN.md "Interfaces"), run against the built binary: it needs
// no privileges, so it belongs to the unit tier.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";

struct Run {
    int status;
    std::string output;
};

Run run(const std::string& args) {
    std::string cmd = kLvsd + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf{};
    while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string write_temp(const std::string& text) {
    char name[] = "/tmp/lvsd-cli-XXXXXX.conf";
    int fd = ::mkstemps(name, 5);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(name) << text;
    return name;
}

}  // namespace

TEST(LvsdCheck, ReferenceConfigsAreValid) {
    for (const char* f : {"/etc/lvsd.conf", "/etc/lvsd-backup.conf"}) {
        auto r = run("-t -f " + std::string(LVSD_SOURCE_DIR) + f);
        EXPECT_EQ(r.status, 0) << f << ": " << r.output;
    }
}

TEST(LvsdCheck, ReportsEveryProblemAsFileLineMessage) {
    auto path = write_temp(R"(vrrp_instances = (
  {
    name = "VI_1";
    interface = "eth0";
    virtual_router_id = 300;
    priority = 100;
    virtual_ipaddress = [ "192.0.2.10/24" ];
  }
);
virtual_servers = (
  {
    address = "192.0.2.10";
    port = 8080;
    protocol = "TCP";
    lb_algo = "wlcc";
    real_servers = ( { address = "192.0.2.21"; port = 8080; } );
  }
);
)");
    auto r = run("-t -f " + path);
    ::unlink(path.c_str());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(path + ":5: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(path + ":15: "), std::string::npos) << r.output;
}

TEST(LvsdCheck, SyntaxErrorNamesTheLine) {
    auto path = write_temp("global_defs = {\n  router_id = = \"lb1\";\n};\n");
    auto r = run("-t -f " + path);
    ::unlink(path.c_str());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(path + ":2: "), std::string::npos) << r.output;
}

TEST(LvsdCheck, MissingFileIsOneClearError) {
    auto r = run("-t -f /tmp/lvsd-does-not-exist.conf");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("/tmp/lvsd-does-not-exist.conf"), std::string::npos) << r.output;
}

TEST(LvsdCheck, BadArgumentsAreUsageErrors) {
    auto r = run("--frobnicate");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown argument \"--frobnicate\""), std::string::npos);
}

TEST(LvsdCheck, WhatTheEnginesCannotDoIsRefusedByTheCheckToo) {
    auto path = write_temp(R"(virtual_servers = ( {
    address = "192.0.2.10"; port = 8080;
    real_servers = ( { address = "192.0.2.21";
        TCP_CHECK = { bind_port = 4000; };
    } );
} );
)");
    auto r = run("-t -f " + path);
    ::unlink(path.c_str());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find(path + ":4: TCP_CHECK: bind_port is not supported by the health checker yet"),
              std::string::npos)
        << r.output;
}
