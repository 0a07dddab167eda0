// The keepalived reader against keepalived 2.2.7 itself (Debian's binary): each case is
// a configuration whose grammar-level features (definitions, multi-line definitions,
// ~SEQ/~LST, @conditionals, includes, braces on one line, comments) decide which
// virtual addresses and which priority an instance gets. keepalived runs it in a
// namespace and dumps what it read (-d); the reader's tree must give the same list.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "config/detail/keepalived_translate.hpp"
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

// The scripts keepalived's VRRP process kept, from its -d dump: "VRRP Script = NAME" and
// then "Command = 'arg' 'arg'" (each argument in single quotes, nothing escaped).
std::map<std::string, std::vector<std::string>> keepalived_commands(const std::string& log) {
    std::map<std::string, std::vector<std::string>> out;
    static const std::regex entry(R"(VRRP Script = (\S+)\n[^\n]*Command = '(.*)'\n)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), entry); it != std::sregex_iterator(); ++it) {
        std::vector<std::string> argv;
        const std::string inner = (*it)[2];
        for (std::size_t pos = 0;;) {
            const auto sep = inner.find("' '", pos);
            argv.push_back(inner.substr(pos, sep == std::string::npos ? std::string::npos : sep - pos));
            if (sep == std::string::npos) break;
            pos = sep + 3;
        }
        out[(*it)[1]] = std::move(argv);
    }
    return out;
}

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
        const bool dumped = lt::wait_for_output(proc, "< Interfaces >");
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

    // keepalived's -d dump of `conf` (VRRP process only), once it is complete.
    std::string keepalived_dump(const std::string& conf) {
        auto proc = lab_.spawn("k", {"/usr/sbin/keepalived", "-n", "-l", "-D", "-d", "-P", "-i", "lb1", "-f", conf, "-p",
                                     dir_ + "/ka.pid", "-r", dir_ + "/vrrp.pid"});
        const bool dumped = lt::wait_for_output(proc, "< Interfaces >");
        auto log = proc.stop().output;
        EXPECT_TRUE(dumped) << log;
        return log;
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

// How a command is taken apart (quotes, escapes, words after the command): keepalived's
// dump of each vrrp_script's command against the importer's command_words().
TEST_F(KeepalivedReaderVsKeepalived, ScriptCommandsSplitAsKeepalivedSplitsThem) {
    const std::string check = write("bin/check", "#!/bin/sh\nexit 0\n");
    std::filesystem::permissions(check, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                            std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                            std::filesystem::perms::others_exec);
    ::chmod(dir_.c_str(), 0755);
    const std::vector<std::string> lines = {
        "script \"" + check + " a b\"",
        "script " + check + " a b",
        "script \"" + check + " a\\ b\"",
        "script \"" + check + " 'a b'\"",
        "script " + check + "\\ a",
        "script \\\"" + check + "\\\"",
        "script \\\"" + check + " a\\\"",
        "script \"" + check + " \\\"x y\\\" z\\#q\"",
        "script '" + check + " a'",
        "script \"" + check + " a\"b",
        "script \"" + check + " \\x41 \\101\"",
        "script \"" + check + "\" \"a b\"",
    };
    std::string text = "global_defs {\n  script_user root\n  enable_script_security\n}\n";
    std::string tracked;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        text += "vrrp_script s" + std::to_string(i) + " {\n  " + lines[i] + "\n}\n";
        tracked += "    s" + std::to_string(i) + "\n";
    }
    text += instance("  track_script {\n" + tracked + "  }\n  virtual_ipaddress {\n    192.0.2.1\n  }\n");
    const auto conf = write("scripts.conf", text);
    const auto log = keepalived_dump(conf);
    const auto keepalived = keepalived_commands(log);

    const auto rr = read_file(conf, ReadOptions{.host_name = "lb1"});
    std::map<std::string, std::vector<std::string>> importer;
    for (const auto& s : rr.statements) {
        if (s.keyword != "vrrp_script" || s.args.empty()) continue;
        for (const auto& c : s.children) {
            if (c.keyword != "script") continue;
            auto words = detail::command_words(c.text);
            if (auto* cw = std::get_if<detail::CommandWords>(&words)) importer[s.args[0]] = cw->argv;
        }
    }
    EXPECT_EQ(importer, keepalived) << log;
    // The cases mean what they were written for: one script dropped, arguments kept or not.
    EXPECT_EQ(keepalived.size(), lines.size() - 1) << log;
    EXPECT_EQ(keepalived.count("s6"), 0u) << log;
    EXPECT_EQ(keepalived.at("s0"), (std::vector<std::string>{check, "a", "b"})) << log;
}
