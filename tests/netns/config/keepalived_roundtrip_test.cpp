// Issue 13's round trip: a pair made of Debian's keepalived 2.2.7 running a corpus file as
// written and lvsd running `lvsd --from-keepalived` of the same file behaves as the pair of
// two keepalived hosts would. Node "ka" runs keepalived, node "lv" runs lvsd; they are
// joined by one veth per interface the file names (same names at both ends). Each daemon
// runs in a private overlay root (keepalived_reading.hpp's PrivateRoot) holding stub
// scripts (exit 0, root-owned, mode 0755) at the paths the file names and the users it
// names, as learnt by keepalived_reading_test.cpp: nothing is written to the host's /etc.
//
// A corpus file is one host's view. The pair's other host runs the "peer view" of the same
// file: unicast_src_ip and unicast_peer swapped, every instance's priority lowered
// (peer_priority) and `state MASTER` made BACKUP, as a real second host's file is. The
// master of each run uses the file's own view (the original, or its untouched translation);
// the backup the peer view (the original edited in keepalived's syntax, or the translation
// edited in lvsd's). Both directions run: keepalived master / lvsd backup and lvsd master /
// keepalived backup. What the files mean (instance names, VIPs and the device each is on,
// advert_int, nopreempt) is taken from keepalived's own reading of the file
// (tests/data/keepalived_reading), not from the .conf here.
//
// Each run proves: the master holds every VIP and the backup none and is BACKUP; stopping
// the master's daemon (SIGTERM, as an operator does) moves every VIP to the backup within
// 3 x advert_int + skew + 1 s margin; starting it again gives them back where the file
// preempts, and leaves them where the file says nopreempt.
//
// Not covered here: an LVS-DR virtual_server with TCP_CHECK (51, 54, ...). lvsd refuses to
// start a configuration with virtual servers on a kernel without IPVS (README, "no VRRP
// instance starts either", tests/netns/daemon/no_ipvs_test.cpp), and this host has none;
// such a file can only run in the kernel tier's VM.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../daemon/host_follow.hpp"
#include "support/keepalived_reading.hpp"
#include "support/netns_lab.hpp"

namespace ka = lvsd::testing::keepalived;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace lvsd::testing;
using lvsd::testing::hostfollow::field;
using lvsd::testing::hostfollow::instance_object;
using lvsd::testing::hostfollow::number;

namespace {

using Clock = std::chrono::steady_clock;

const std::string kCorpus = LVSD_SOURCE_DIR "/tests/data/keepalived_corpus";
const std::string kReadings = LVSD_SOURCE_DIR "/tests/data/keepalived_reading";
const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

struct Addr {
    std::string dev, cidr;
};

// One corpus file and the addresses of its two hosts (the file names only its own host's,
// or none: multicast instances need an address on the link, so one in the VIP's subnet).
struct Shape {
    std::string name;       // test name
    std::string file;       // corpus file (its reading has the same stem)
    std::vector<Addr> own;  // the file's own host: its unicast_src_ip
    std::vector<Addr> peer; // the other host: the file's unicast_peer
};

const std::vector<Shape> kShapes = {
    {"Unicast_TrackScript_Nopreempt_21", "21-linode-haproxy-unicast.conf",
     {{"eth0", "192.168.143.227/24"}}, {{"eth0", "192.168.143.241/24"}}},
    {"Unicast_TrackScript_OtherInterface_35", "35-k8s-haproxy-unicast-garp0.conf",
     {{"ens192", "172.16.0.2/24"}}, {{"ens192", "172.16.0.3/24"}}},
    // With keepalived master this fails today: keepalived 2.2.7 sends IPv6 unicast adverts
    // with hop limit 64, lvsd drops them (bad_ttl, src/vrrp/codec.cpp check()) where
    // keepalived accepts any TTL from a unicast peer, and the sync group flaps.
    {"SyncGroup_IPv6_Unicast_TwoLinks_32", "32-gluster-firewall-syncgroup-ipv6.conf",
     {{"eth0", "203.0.113.2/24"}, {"eth0", "2001:db8:100::2/64"}, {"eth1", "172.16.10.2/24"}},
     {{"eth0", "203.0.113.3/24"}, {"eth0", "2001:db8:100::3/64"}, {"eth1", "172.16.10.3/24"}}},
    // With lvsd master this fails today: an lvsd instance at priority 255 leaves its VIPs
    // on the interface when it stops (src/vrrp/host_facts.cpp vip_plan(): "owner"), where
    // keepalived removes them; the new master and the stopped host then both have them.
    {"IPv4_IPv6_Multicast_Priority255_31", "31-vpn-portal-ipv4-ipv6.conf",
     {{"eth0", "192.168.122.2/24"}, {"eth0", "fd7f:aaec:599a:204::2/64"}},
     {{"eth0", "192.168.122.3/24"}, {"eth0", "fd7f:aaec:599a:204::3/64"}}},
    {"UseVmac_Multicast_09", "09-docker-use-vmac.conf", {{"eth0", "10.0.1.2/24"}}, {{"eth0", "10.0.1.3/24"}}},
};

// What keepalived read from the file, per instance.
struct Instance {
    std::string name;
    int priority = 0;
    double advert_int = 1;
    bool nopreempt = false;
    std::vector<Addr> vips;  // {device, "ADDR/LEN"}
    std::string unicast_src;
    std::vector<std::string> unicast_peers;
};

std::vector<Instance> instances(const json::value& reading) {
    std::vector<Instance> out;
    for (const auto& v : reading.at("vrrp_instances").as_array()) {
        const auto& o = v.as_object();
        Instance i;
        i.name = std::string(o.at("name").as_string());
        i.priority = static_cast<int>(o.at("priority").to_number<double>());
        i.advert_int = o.at("advert_int").to_number<double>();
        i.nopreempt = o.at("nopreempt").as_bool();
        for (const auto& x : o.at("vips").as_array()) {
            // keepalived's form: "10.0.1.1/32 dev vrrp.51".
            std::smatch m;
            const std::string s(x.as_string());
            if (!std::regex_match(s, m, std::regex(R"((\S+) dev (\S+))"))) throw std::runtime_error("vip: " + s);
            i.vips.push_back({m[2], m[1]});
        }
        if (const auto* s = o.if_contains("unicast_src_ip"); s && s->is_string()) i.unicast_src = s->as_string();
        if (const auto* p = o.if_contains("unicast_peers"); p && p->is_array())
            for (const auto& x : p->as_array()) i.unicast_peers.emplace_back(x.as_string());
        out.push_back(std::move(i));
    }
    return out;
}

// The priority of the pair's other host: clearly below the file's (a tracked script's
// weight of a few points must not reorder the pair), never below 1.
int peer_priority(int p) { return p > 100 ? p - 50 : std::max(1, p / 2); }

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
}

// Swaps each instance's unicast_src_ip with its (only) peer, as whole addresses. The
// addresses go in through markers: "$1" followed by an address's digits would be read as
// another group.
std::string swap_unicast(std::string text, const std::vector<Instance>& insts) {
    for (const auto& i : insts) {
        if (i.unicast_src.empty() || i.unicast_peers.size() != 1) continue;
        const std::string a = i.unicast_src, b = i.unicast_peers.front();
        auto whole = [](const std::string& addr) {
            return std::regex("(^|[^0-9a-fA-F:.])" + std::regex_replace(addr, std::regex(R"([.])"), R"(\.)") +
                              "(?![0-9a-fA-F:.])");
        };
        text = std::regex_replace(text, whole(a), "$1\x01A\x01");
        text = std::regex_replace(text, whole(b), "$1\x01B\x01");
        text = replace_all(replace_all(text, "\x01A\x01", b), "\x01B\x01", a);
    }
    return text;
}

// Rewrites every `priority N` (keepalived's syntax) or `priority = N;` (lvsd's) to
// peer_priority(N), and `state MASTER` to BACKUP.
std::string peer_view(const std::string& text, bool lvsd_syntax, const std::vector<Instance>& insts) {
    // A line's start is "\n": every corpus file opens with a comment line.
    const std::regex prio(lvsd_syntax ? R"((\n[ \t]*priority = )([0-9]+))" : R"((\n[ \t]*priority[ \t]+)([0-9]+))");
    std::string out;
    std::size_t last = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), prio, std::regex_constants::match_not_null), end; it != end;
         ++it) {
        const auto& m = *it;
        out += text.substr(last, static_cast<std::size_t>(m.position(0)) - last);
        out += m[1].str() + std::to_string(peer_priority(std::stoi(m[2])));
        last = static_cast<std::size_t>(m.position(0) + m.length(0));
    }
    out += text.substr(last);
    out = std::regex_replace(out, std::regex(lvsd_syntax ? R"x((\n[ \t]*state = )"MASTER")x" : R"((\n[ \t]*state[ \t]+)MASTER)"),
                             lvsd_syntax ? R"x($1"BACKUP")x" : "$1BACKUP");
    return swap_unicast(out, insts);
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

enum class Master { keepalived, lvsd };

struct Param {
    Shape shape;
    Master master;
};
void PrintTo(const Param& p, std::ostream* os) {
    *os << p.shape.file << (p.master == Master::keepalived ? ", keepalived master" : ", lvsd master");
}

const char* node(Master who) { return who == Master::keepalived ? "ka" : "lv"; }
Master other(Master who) { return who == Master::keepalived ? Master::lvsd : Master::keepalived; }

class KeepalivedRoundTrip : public ::testing::TestWithParam<Param> {
protected:
    void SetUp() override {
        ASSERT_EQ(::getuid(), 0u) << "the netns tier runs as root";
        const auto& s = GetParam().shape;
        conf_ = kCorpus + "/" + s.file;
        reading_ = ka::read_json(kReadings + "/" + fs::path(s.file).stem().string() + ".json");
        setup_ = ka::host_setup_from(reading_);
        insts_ = instances(reading_);
        lab_.netns("ka");
        lab_.netns("lv");
        for (const auto& ifname : setup_.interfaces) lab_.veth("ka", ifname, "lv", ifname);
        const bool ka_master = GetParam().master == Master::keepalived;
        for (const auto& a : s.own) lab_.address(ka_master ? "ka" : "lv", a.dev, a.cidr);
        for (const auto& a : s.peer) lab_.address(ka_master ? "lv" : "ka", a.dev, a.cidr);
        dir_ = "/tmp/" + lab_.prefix() + "roundtrip";
        fs::create_directories(dir_ + "/lv-run");
        fs::permissions(dir_, fs::perms::owner_all);

        const std::string original = slurp(conf_);
        ka_conf_ = dir_ + "/keepalived.conf";
        std::ofstream(ka_conf_) << (ka_master ? original : peer_view(original, false, insts_));
        // The translation is stdout; its warnings (stderr) are kept apart for messages.
        const auto text = run({"sh", "-c", "exec \"$0\" --from-keepalived \"$1\" 2>\"$2\"", kLvsd, conf_,
                               dir_ + "/translate.err"});
        ASSERT_TRUE(text.ok()) << "translation of " << conf_ << " failed:\n" << slurp(dir_ + "/translate.err");
        lv_conf_ = dir_ + "/lvsd.conf";
        std::ofstream(lv_conf_) << (ka_master ? peer_view(text.output, true, insts_) : text.output);
    }

    void TearDown() override {
        const bool failed = HasFailure();
        for (auto* p : {&ka_, &lv_}) {
            if (!*p) continue;
            auto r = (*p)->stop();
            if (failed) std::cout << "---- " << (p == &ka_ ? "keepalived" : "lvsd") << " (status " << r.status
                                  << ")\n" << r.output.substr(r.output.size() > 6000 ? r.output.size() - 6000 : 0);
            p->reset();
        }
        if (failed) std::cout << log_ << "---- keepalived.conf\n" << slurp(ka_conf_) << "---- lvsd.conf\n" << slurp(lv_conf_);
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }

    void start_keepalived() {
        ka_.emplace(lab_.netns_name("ka"), std::vector<std::string>{dir_ + ":" + dir_}, setup_,
                    std::vector<std::string>{"keepalived", "-n", "-l", "-D", "-R", "-f", ka_conf_, "-p",
                                             "/lvsd-ka-reading/keepalived.pid", "-r", "/lvsd-ka-reading/vrrp.pid",
                                             "-c", "/lvsd-ka-reading/checkers.pid"});
    }
    // lvsd's control socket is its default, /run/lvsd/lvsd.sock: the translation is run as
    // printed, and the host directory lv-run is that /run/lvsd inside the private root.
    void start_lvsd() {
        lv_.emplace(lab_.netns_name("lv"), std::vector<std::string>{dir_ + ":" + dir_, dir_ + "/lv-run:/run/lvsd"},
                    setup_, std::vector<std::string>{kLvsd, "-f", lv_conf_});
    }
    void start(Master who) { who == Master::keepalived ? start_keepalived() : start_lvsd(); }
    void stop(Master who) {
        auto& p = who == Master::keepalived ? ka_ : lv_;
        if (!p) return;
        const auto r = p->stop();
        log_ += fmt::format("---- {} stopped by the test (status {})\n{}", who == Master::keepalived ? "keepalived" : "lvsd",
                            r.status, r.output);
        p.reset();
    }

    std::string ka_log() { return ka_ ? ka_->process().output() : ""; }
    std::string lv_status() const {
        return run({kLvsctl, "-s", dir_ + "/lv-run/lvsd.sock", "status", "--json"}, {}, 10s).output;
    }
    // Every VIP keepalived read, on the device it read it on; or none of them anywhere.
    bool holds_all(const std::string& ns) const {
        for (const auto& i : insts_)
            for (const auto& v : i.vips)
                if (!has(ns, v)) return false;
        return true;
    }
    bool holds_none(const std::string& ns) const {
        const auto all = run({"ip", "-n", lab_.netns_name(ns), "-o", "addr", "show"}, {}, 10s).output;
        for (const auto& i : insts_)
            for (const auto& v : i.vips)
                if (all.find(" " + v.cidr.substr(0, v.cidr.find('/')) + "/") != std::string::npos) return false;
        return true;
    }
    bool has(const std::string& ns, const Addr& v) const {
        const auto r = run({"ip", "-n", lab_.netns_name(ns), "-o", "addr", "show", "dev", v.dev}, {}, 10s);
        const std::string family = v.cidr.find(':') != std::string::npos ? "inet6 " : "inet ";
        return r.ok() && r.output.find(family + v.cidr + " ") != std::string::npos;
    }
    // Every instance of `who` is BACKUP, having heard the master: lvsd's status says so
    // with adverts counted; keepalived's log says so (the hold that follows shows that it
    // heard the master: it would have taken over otherwise).
    bool all_backup(Master who) { return all_in(who, "BACKUP"); }
    bool all_master(Master who) { return all_in(who, "MASTER"); }
    bool all_in(Master who, const std::string& state) {
        if (who == Master::keepalived) {
            const auto log = ka_log();
            for (const auto& i : insts_)
                if (ka_state(log, i.name) != state) return false;
            return true;
        }
        const auto st = lv_status();
        for (const auto& i : insts_) {
            const auto o = instance_object(st, i.name);
            if (field(o, "state").value_or("?") != state) return false;
            // A backup that has not heard the master yet proves nothing.
            if (state == "BACKUP" && number(field(o, "adverts_received")) < 3) return false;
        }
        return true;
    }
    // keepalived's state of an instance: the last "(NAME) Entering X STATE" it logged.
    static std::string ka_state(const std::string& log, const std::string& name) {
        const std::string key = "(" + name + ") Entering ";
        const auto p = log.rfind(key);
        if (p == std::string::npos) return "?";
        const auto from = p + key.size();
        return log.substr(from, log.find(' ', from) - from);
    }
    // Holds the pair for longer than a master-down interval: `master` keeps every VIP, the
    // other node has none and every instance of `backup` stays BACKUP (a backup that did
    // not hear the master would take over in that time). "" when it held.
    std::string hold(Master master, Master backup) {
        const auto t0 = Clock::now();
        while (Clock::now() - t0 < failover_bound()) {
            if (!holds_all(node(master)) || !holds_none(node(backup)) || !all_backup(backup))
                return fmt::format("after {} ms: {} lost the VIPs or {} left BACKUP",
                                   std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(),
                                   node(master), node(backup));
            std::this_thread::sleep_for(100ms);
        }
        return {};
    }

    // How long the backup may take after the master stopped: the master-down interval
    // (3 x advert_int + skew, RFC 3768 §6.1 with the backup's priority), plus 1 s for the
    // daemons' exit and our polling. A SIGTERM'd master sends priority 0 first, so it is
    // usually only the skew.
    std::chrono::milliseconds failover_bound() const {
        double worst = 0;
        for (const auto& i : insts_) {
            const double skew = (256.0 - peer_priority(i.priority)) / 256.0 * i.advert_int;
            worst = std::max(worst, 3 * i.advert_int + skew);
        }
        return std::chrono::milliseconds(static_cast<long>(std::ceil(worst * 1000))) + 1s;
    }
    bool preempts() const {
        for (const auto& i : insts_)
            if (i.nopreempt) return false;
        return true;
    }
    std::string where() {
        return fmt::format("ka: {}\nlv: {}\nlvsd status: {}\n",
                           run({"ip", "-n", lab_.netns_name("ka"), "-o", "addr"}, {}, 10s).output,
                           run({"ip", "-n", lab_.netns_name("lv"), "-o", "addr"}, {}, 10s).output, lv_status());
    }

    Lab lab_;
    std::string conf_, ka_conf_, lv_conf_, dir_, log_;
    json::value reading_;
    ka::HostSetup setup_;
    std::vector<Instance> insts_;
    std::optional<ka::PrivateRoot> ka_;  // after lab_: stopped before it goes
    std::optional<ka::PrivateRoot> lv_;
};

TEST_P(KeepalivedRoundTrip, ElectsFailsOverAndComesBackAsTheOriginalPair) {
    const Master m = GetParam().master, b = other(m);
    const auto t0 = Clock::now();
    // The master first, as a pair is brought up: started together, a nopreempt backup whose
    // master-down timer ran out first would keep the VIPs, as two keepalived hosts would.
    start(m);
    ASSERT_TRUE(wait_until([&] { return all_master(m) && holds_all(node(m)); }, 30s)) << where() << log_;
    start(b);
    ASSERT_TRUE(wait_until([&] { return all_backup(b) && holds_none(node(b)); }, 15s)) << where();
    if (auto bad = hold(m, b); !bad.empty()) FAIL() << bad << "\n" << where();

    // Failover: the master's daemon stops; every VIP moves to the backup.
    const auto bound = failover_bound();
    const auto t_stop = Clock::now();
    stop(m);
    const bool moved = wait_until([&] { return holds_all(node(b)) && holds_none(node(m)); }, bound + 5s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_stop);
    ASSERT_TRUE(moved) << (holds_none(node(m)) ? "the backup did not take every VIP"
                                               : "the stopped daemon left VIPs behind (keepalived removes them on "
                                                 "SIGTERM, also at priority 255)")
                       << "\n" << where();
    EXPECT_LE(took, bound) << "failover took " << took.count() << " ms, bound " << bound.count() << " ms";
    std::cout << fmt::format("[ failover ] {} ms (bound {} ms)\n", took.count(), bound.count());
    ASSERT_TRUE(wait_until([&] { return all_master(b); }, 5s)) << where();

    // The old master comes back.
    start(m);
    if (preempts()) {
        ASSERT_TRUE(wait_until([&] { return holds_all(node(m)) && holds_none(node(b)); }, 20s)) << where();
        EXPECT_TRUE(wait_until([&] { return all_master(m); }, 5s)) << where();
    } else {
        // nopreempt: it comes up BACKUP, hears the lower-priority master and leaves it be
        // for longer than a master-down interval.
        ASSERT_TRUE(wait_until([&] { return all_backup(m); }, 20s)) << where();
        if (auto bad = hold(b, m); !bad.empty()) FAIL() << "nopreempt: " << bad << "\n" << where();
    }
    std::cout << fmt::format("[ run time ] {} ms\n", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         Clock::now() - t0).count());
}

std::vector<Param> params() {
    std::vector<Param> out;
    for (const auto& s : kShapes)
        for (Master m : {Master::keepalived, Master::lvsd}) out.push_back({s, m});
    return out;
}

INSTANTIATE_TEST_SUITE_P(Corpus, KeepalivedRoundTrip, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& p) {
                             return p.param.shape.name +
                                    (p.param.master == Master::keepalived ? "_KeepalivedMaster" : "_LvsdMaster");
                         });

}  // namespace
