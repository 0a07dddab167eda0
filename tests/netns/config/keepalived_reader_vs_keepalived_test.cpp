// The keepalived reader against keepalived 2.2.7 itself (Debian's binary): each case is
// a configuration whose grammar-level features (definitions, multi-line definitions,
// ~SEQ/~LST, @conditionals, includes, braces on one line, comments) decide which
// virtual addresses and which priority an instance gets. keepalived runs it in a
// namespace and dumps what it read (-d); the reader's tree must give the same list.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "config/keepalived_reader.hpp"
#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using namespace lvsd::config::keepalived;
using namespace std::chrono_literals;

namespace {

struct Reading {
    std::vector<std::string> vips;
    std::string priority;
};

// What keepalived's VRRP process read, from its -d dump.
Reading keepalived_reading(const std::string& log) {
    Reading r;
    static const std::regex vip(R"(:\s+(\d+\.\d+\.\d+\.\d+) dev eth0 scope global)");
    static const std::regex prio(R"(:\s+Priority = (\d+))");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), vip); it != std::sregex_iterator(); ++it)
        r.vips.push_back((*it)[1]);
    std::smatch m;
    if (std::regex_search(log, m, prio)) r.priority = m[1];
    return r;
}

// The same from the reader's tree: entries of virtual_ipaddress that are IPv4 addresses
// (keepalived skips the others, logging "invalid IP"), and the priority.
Reading reader_reading(const ReadResult& rr) {
    Reading r;
    r.priority = "100";  // keepalived's default
    for (const auto& s : rr.statements) {
        if (s.keyword != "vrrp_instance") continue;
        for (const auto& c : s.children) {
            if (c.keyword == "priority" && !c.args.empty()) r.priority = c.args[0];
            if (c.keyword != "virtual_ipaddress") continue;
            for (const auto& v : c.children) {
                in_addr a{};
                if (::inet_pton(AF_INET, v.keyword.c_str(), &a) == 1) r.vips.push_back(v.keyword);
            }
        }
    }
    return r;
}

class KeepalivedReaderVsKeepalived : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lvt-kar-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        lab_.netns("k");
        lab_.veth("k", "eth0", "k", "eth1");
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = std::filesystem::path(dir_) / name;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << text;
        return path.string();
    }

    // Runs keepalived (VRRP process only) on `conf` with config id `id` until it has
    // dumped its configuration, and compares with the reader.
    void compare(const std::string& conf, const std::string& id, std::size_t expected_vips) {
        auto proc = lab_.spawn("k", {"/usr/sbin/keepalived", "-n", "-l", "-D", "-d", "-P", "-i", id, "-f", conf, "-p",
                                     dir_ + "/ka.pid", "-r", dir_ + "/vrrp.pid"});
        const bool dumped = lt::wait_until([&] { return proc.output().find("< Interfaces >") != std::string::npos; }, 10s);
        const auto log = proc.stop().output;
        ASSERT_TRUE(dumped) << log;
        ReadOptions o;
        o.host_name = id;
        const auto rr = read_file(conf, o);
        std::string diags;
        for (const auto& d : rr.errors) diags += lvsd::config::to_string(d) + "\n";
        const auto want = keepalived_reading(log);
        const auto got = reader_reading(rr);
        EXPECT_EQ(got.vips, want.vips) << diags << log;
        EXPECT_EQ(got.priority, want.priority) << diags << log;
        EXPECT_EQ(want.vips.size(), expected_vips) << log;  // the case tests what it means to
    }

    lt::Lab lab_;
    std::string dir_;
};

std::string instance(const std::string& body) {
    return "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n" + body + "}\n";
}

}  // namespace

TEST_F(KeepalivedReaderVsKeepalived, DefinitionsAndMultiLineDefinitions) {
    compare(write("defs.conf",
                  "$A=192.0.2.1\n"
                  "$PRIO=77\n"
                  "$ML=192.0.2.2 \\\n"
                  "192.0.2.3 \\\n"
                  "  192.0.2.4\n"
                  "$CUT=192.0.2.5 \\\n"
                  "# a comment line ends it for keepalived's VRRP process\n"
                  "192.0.2.6 \\\n"
                  "\n" +
                      instance("  priority $PRIO\n"
                               "  virtual_ipaddress {\n"
                               "    ${A}\n"
                               "    $A/32\n"  // not replaced: `/` after the name
                               "    $ML\n"
                               "    $CUT\n"
                               "  }\n")),
            "lb1", 5);
}

TEST_F(KeepalivedReaderVsKeepalived, SequencesListsAndConditionals) {
    compare(write("seq.conf", instance("@lb1 priority 101\n"
                                       "@lb2 priority 102\n"
                                       "  virtual_ipaddress {\n"
                                       "~SEQ(i, 2) ~LST(p, 5, 6) 192.0.2.${i}${p}\n"
                                       "~LST({ip}, {192.0.2.40}, {192.0.2.41}) $ip\n"
                                       "@^lb1 192.0.2.50\n"
                                       "@lb1 192.0.2.51 # kept on lb1\n"
                                       "    192.0.2.52\\#1\n"  // a comment to the VRRP process
                                       "  }\n")),
            "lb1", 8);
}

TEST_F(KeepalivedReaderVsKeepalived, IncludesAndBracesOnOneLine) {
    write("sub/v2.conf", "192.0.2.2\n");
    write("sub/v1.conf", "192.0.2.1\ninclude c.conf\n");
    write("sub/c.conf", "192.0.2.5\n");
    write("c.conf", "192.0.2.6\n");
    write("prio.conf", "  priority 42 ! from an include\n");
    compare(write("inc.conf", "vrrp_instance VI_1 { interface eth0\n"
                              "  virtual_router_id 51\n"
                              "  include prio.conf\n"
                              "  virtual_ipaddress { 192.0.2.9\n"
                              "    include sub/v*.conf\n"
                              "    include missing.conf\n"
                              "  }\n"
                              "}\n"),
            "lb1", 4);
}
