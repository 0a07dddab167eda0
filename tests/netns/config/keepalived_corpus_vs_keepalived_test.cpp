// Every corpus file with VRRP instances, read by the keepalived reader and by keepalived
// 2.2.7 itself (VRRP process, -d dump, in a namespace with the interfaces the file
// names): the same instances, with the same virtual addresses in the same order, and the
// same priority where the file sets one (without one keepalived's default depends on
// `state`, which is the importer's business, not the reader's).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "config/keepalived_reader.hpp"
#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using namespace lvsd::config::keepalived;
using namespace std::chrono_literals;

namespace {

struct Instance {
    std::string priority;  // empty: not set in the file
    std::vector<std::string> vips;
};
using Instances = std::map<std::string, Instance>;

std::string without_host_prefix(std::string a) {
    for (const char* p : {"/32", "/128"})
        if (a.size() > std::strlen(p) && a.compare(a.size() - std::strlen(p), std::string::npos, p) == 0)
            a.resize(a.size() - std::strlen(p));
    return a;
}

Instances reader_instances(const std::vector<Statement>& top) {
    Instances out;
    for (const auto& s : top) {
        if (s.keyword != "vrrp_instance" || s.args.empty()) continue;
        Instance& i = out[s.args[0]];
        for (const auto& c : s.children) {
            if (c.keyword == "priority" && !c.args.empty()) i.priority = c.args[0];
            if (c.keyword == "virtual_ipaddress")
                for (const auto& v : c.children) i.vips.push_back(without_host_prefix(v.keyword));
        }
    }
    return out;
}

// Interface names the file uses, so that keepalived finds them.
void interfaces(const std::vector<Statement>& list, bool in_track, std::set<std::string>& out) {
    static const std::regex name(R"([A-Za-z][A-Za-z0-9_.-]{0,14})");
    for (const auto& s : list) {
        auto add = [&](const std::string& n) {
            if (std::regex_match(n, name)) out.insert(n);
        };
        if (in_track) add(s.keyword);
        if ((s.keyword == "interface" || s.keyword == "lvs_sync_daemon_interface") && !s.args.empty()) add(s.args[0]);
        for (std::size_t i = 0; i + 1 < s.args.size(); ++i)
            if (s.args[i] == "dev") add(s.args[i + 1]);
        interfaces(s.children, s.keyword == "track_interface", out);
    }
}

// keepalived's -d dump, as its VRRP child prints it: "DATE: " then the text, indented
// by nesting (instance keys by 3 spaces, the addresses under "Virtual IP" by 5). The
// parent process logs through the same console at the same time, and under load one of
// its lines (unindented) can land between "Virtual IP (1):" and the address: only an
// indented dump line ends the address list.
Instances keepalived_instances(const std::string& log) {
    Instances out;
    static const std::regex dated(R"(^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$)");
    static const std::regex inst(R"(^ VRRP Instance = (\S+))");
    static const std::regex key(R"(^   (\S.*)$)");
    static const std::regex prio(R"(^Priority = (\d+))");
    static const std::regex vip(R"(^     (\S+) dev \S+ scope )");
    std::istringstream in(log);
    std::string line;
    Instance* cur = nullptr;
    bool in_vips = false;
    std::smatch d, m;
    while (std::getline(in, line)) {
        if (!std::regex_match(line, d, dated)) continue;
        const std::string text = d[1];
        if (std::regex_search(text, m, inst)) {
            cur = &out[m[1]];
            in_vips = false;
        } else if (!cur) {
            continue;
        } else if (text.rfind("------<", 0) == 0) {
            cur = nullptr;  // the next section: the topology is complete
        } else if (in_vips && std::regex_search(text, m, vip)) {
            cur->vips.push_back(m[1]);
        } else if (std::regex_match(text, m, key)) {
            const std::string k = m[1];
            in_vips = k.rfind("Virtual IP (", 0) == 0;
            if (std::regex_search(k, m, prio)) cur->priority = m[1];
        }
    }
    return out;
}

}  // namespace

// Three shards (every third file) that ctest runs side by side: one keepalived start and
// stop per file makes the whole corpus take over a minute.
constexpr int kShards = 3;
class KeepalivedCorpusVsKeepalived : public ::testing::TestWithParam<int> {};

TEST_P(KeepalivedCorpusVsKeepalived, ReaderAndKeepalivedReadTheSameInstances) {
    const std::filesystem::path dir = std::filesystem::path(LVSD_SOURCE_DIR) / "tests/data/keepalived_corpus";
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".conf") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::filesystem::path> shard;
    for (std::size_t i = GetParam(); i < files.size(); i += kShards) shard.push_back(files[i]);
    files = shard;
    int compared = 0;
    std::vector<std::string> not_compared;
    for (const auto& path : files) {
        ReadOptions o;
        o.host_name = "lb1";
        const auto rr = read_file(path.string(), o);
        const auto mine = reader_instances(rr.statements);
        if (mine.empty()) {
            not_compared.push_back(path.filename().string() + ": no vrrp_instance");
            continue;
        }
        std::set<std::string> names;
        interfaces(rr.statements, false, names);
        lt::Lab lab;
        lab.netns("k");
        int n = 0;
        for (const auto& name : names) lab.veth("k", name, "k", "pk" + std::to_string(n++));
        char tmpl[] = "/tmp/lvt-karc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        const std::string run = tmpl;
        auto proc = lab.spawn("k", {"/usr/sbin/keepalived", "-n", "-l", "-D", "-d", "-P", "-i", "lb1", "-f",
                                    path.string(), "-p", run + "/ka.pid", "-r", run + "/vrrp.pid"});
        // One process prints the dump in order: at the Interfaces heading the topology is
        // complete (lines from the parent may interleave; the parser allows for them).
        lt::wait_for_output(proc, "< Interfaces >", 10s, 300ms);
        const auto log = proc.stop().output;
        std::filesystem::remove_all(run);
        if (log.find("Can't initialize ipvs") != std::string::npos) {
            // lvs_sync_daemon_interface needs IPVS, which this host kernel lacks.
            not_compared.push_back(path.filename().string() + ": keepalived needs IPVS for it (kernel tier)");
            continue;
        }
        const auto theirs = keepalived_instances(log);
        ASSERT_FALSE(theirs.empty()) << path << "\n" << log;
        ++compared;
        EXPECT_EQ(mine.size(), theirs.size()) << path;
        for (const auto& [name, i] : mine) {
            const auto it = theirs.find(name);
            ASSERT_NE(it, theirs.end()) << path << ": " << name;
            EXPECT_EQ(i.vips, it->second.vips) << path << ": " << name;
            if (!i.priority.empty()) {
                EXPECT_EQ(i.priority, it->second.priority) << path << ": " << name;
            }
        }
    }
    for (const auto& n : not_compared) std::cout << "not compared: " << n << "\n";
    // 53 of the 60 files have instances keepalived can read without IPVS.
    EXPECT_GE(compared, 50 / kShards);
}

INSTANTIATE_TEST_SUITE_P(Shard, KeepalivedCorpusVsKeepalived, ::testing::Range(0, kShards));
