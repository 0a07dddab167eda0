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

Instances keepalived_instances(const std::string& log) {
    Instances out;
    static const std::regex inst(R"(^.*?:\s+VRRP Instance = (\S+))");
    static const std::regex prio(R"(^.*?:\s+Priority = (\d+))");
    static const std::regex vip_head(R"(^.*?:\s+Virtual IP \()");
    static const std::regex vip(R"(^.*?:\s+(\S+) dev \S+ scope )");
    std::istringstream in(log);
    std::string line;
    Instance* cur = nullptr;
    bool in_vips = false;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_search(line, m, inst)) {
            cur = &out[m[1]];
            in_vips = false;
        } else if (!cur) {
            continue;
        } else if (line.find("------< Interfaces") != std::string::npos) {
            cur = nullptr;
        } else if (in_vips && std::regex_search(line, m, vip)) {
            cur->vips.push_back(m[1]);
        } else {
            in_vips = std::regex_search(line, vip_head);
            if (std::regex_search(line, m, prio)) cur->priority = m[1];
        }
    }
    return out;
}

}  // namespace

TEST(KeepalivedCorpusVsKeepalived, ReaderAndKeepalivedReadTheSameInstances) {
    const std::filesystem::path dir = std::filesystem::path(LVSD_SOURCE_DIR) / "tests/data/keepalived_corpus";
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".conf") files.push_back(e.path());
    std::sort(files.begin(), files.end());
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
        // The instances' VIPs come after that heading, and under the sanitize tier's load
        // the dump paused for over half a second before them: 1.5 s of quiet is asked.
        lt::wait_for_output(proc, "< Interfaces >", 10s, 1500ms);
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
    EXPECT_GE(compared, 50);
}
