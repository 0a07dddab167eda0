// Issue #15, the VRRP side: `lvsctl failover` and `lvsctl hold` on real lvsd processes in
// namespaces (a: priority 150, b: 100, or keepalived 2.2.7 as b), with an HTTP server
// (busybox httpd) listening on every address of each balancer and a client namespace
// that fetches the VIP with a new connection per request and no retries (curl, one
// process per request): failover moves the VIP to the peer make before break, the VIP
// never on neither balancer, and no request fails but one in flight at the very moment
// the VIP moves (its connection is to a's server, which b's kernel resets; the counts
// are printed),
// `failover --clear` lets a preempt it back; hold keeps a in BACKUP when b is killed, and
// across a SIGHUP and a restart of lvsd (the state file), until `hold --clear`.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;

namespace {

class Failover : public PairTest {
protected:
    void SetUp() override {
        PairTest::SetUp();
        lab_.netns("c");
        lab_.veth("c", "eth0", "sw", "cp");
        lab_.enslave("sw", "cp", "br0");
        lab_.address("c", "eth0", "192.0.2.50/24");
        for (const char* node : {"a", "b"}) {
            const std::string www = dir_ + "/www-" + node;
            run({"mkdir", "-p", www});
            std::ofstream(www + "/index.html") << node << "\n";
            httpd_.push_back(lab_.spawn(node, {"busybox", "httpd", "-f", "-p", "0.0.0.0:80", "-h", www}));
        }
    }
    void TearDown() override {
        stop_client();
        if (ka_.pid() > 0) ka_.stop();
        for (auto& h : httpd_) h.stop();
        PairTest::TearDown();
    }

    // The client: one curl per request (a new connection each time, curl's default of no
    // retry), every 20 ms, until the stop file appears (or 2000 requests, a bound); one
    // line per request: "ok a START END", "ok b ..." or "FAIL <curl's exit status> START END"
    // (wall-clock seconds, to place a failure against the hand-over).
    void start_client() {
        const std::string script = "i=0; while [ ! -e " + dir_ + "/stop ] && [ $i -lt 2000 ]; do i=$((i+1)); "
                                   "s=$(date +%s.%N); r=$(curl -s --connect-timeout 5 -m 8 http://192.0.2.10/); "
                                   "rc=$?; e=$(date +%s.%N); "
                                   "if [ $rc -eq 0 ]; then echo \"ok $r $s $e\"; else echo \"FAIL $rc $s $e\"; fi; "
                                   "sleep 0.02; done; echo done";
        client_ = lab_.spawn("c", {"sh", "-c", script});
    }
    static double wall_now() {
        return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    // The failed requests that were not in flight while the VIP moved (between `from` and
    // `to`, wall-clock seconds): a request in flight then may meet b's reset (its
    // connection was to a's server); any other failure is the hand-over's fault.
    std::string failures_outside(double from, double to) const {
        std::istringstream in(client_.output());
        std::string out;
        for (std::string line; std::getline(in, line);) {
            if (!line.starts_with("FAIL")) continue;
            std::istringstream w(line);
            std::string word;
            int rc = 0;
            double start = 0, end = 0;
            w >> word >> rc >> start >> end;
            if (!(start <= to && end >= from)) out += line + "\n";
        }
        return out;
    }
    void stop_client() {
        if (client_.pid() <= 0) return;
        std::ofstream(dir_ + "/stop") << "x\n";
        wait_until([&] { return !client_.running(); }, 15s);
        client_.stop();
    }
    std::size_t answered_by(const std::string& node) const { return count(client_.output(), "ok " + node + " "); }
    std::size_t failures() const { return count(client_.output(), "FAIL"); }
    std::size_t requests() const { return count(client_.output(), "ok ") + failures(); }
    // Waits until `n` more requests were answered by `node`.
    bool served_by(const std::string& node, std::size_t n = 10) const {
        const auto before = answered_by(node);
        return wait_until([&] { return answered_by(node) >= before + n; }, 10s);
    }

    std::string override_kind(const std::string& node) const {
        const auto o = instance_object(status(node));
        const auto at = o.find("\"override\":");
        return at == std::string::npos ? "<absent>" : o.substr(at + 11, o.find_first_of(",}", at + 11) - at - 11);
    }
    bool a_backup_b_master() const {
        return state("a") == "BACKUP" && !has_vip("a") && state("b") == "MASTER" && has_vip("b");
    }

    // keepalived 2.2.7 in b instead of lvsd: the same instance.
    void start_keepalived_b() {
        const std::string conf = dir_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_b\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n"
                            << "  priority 100\n  version 3\n  advert_int 0.1\n"
                            << "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n";
        ka_ = lab_.spawn("b", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", dir_ + "/ka.pid", "-r",
                               dir_ + "/vrrp.pid"});
    }

    std::vector<Process> httpd_;
    Process client_;
    Process ka_;
};

}  // namespace

TEST_F(Failover, MovesTheVipToTheLvsdPeerMakeBeforeBreakAndClearPreemptsBack) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    start_client();
    ASSERT_TRUE(served_by("a")) << client_.output();

    const double asked = wall_now();
    auto r = lvsctl("a", {"failover", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    // Make before break: a keeps the VIP, advertising priority 0, until it hears b.
    EXPECT_THAT(r.output, HasSubstr("VI_1: MASTER, priority 1 (configured 150), failover"));
    EXPECT_THAT(r.output, HasSubstr("handing over"));
    const auto t0 = Clock::now();
    int vipless = 0;  // samples with the VIP on neither balancer
    ASSERT_TRUE(wait_until([&] {
        const bool on_a = has_vip("a"), on_b = has_vip("b");
        vipless += !on_a && !on_b;
        return !on_a && on_b && state("a") == "BACKUP" && state("b") == "MASTER";
    }, 5s, 5ms)) << status("a") << status("b");
    const double moved = wall_now();
    measure("failover_to_peer_master_ms", ms_since(t0));
    EXPECT_EQ(vipless, 0) << "the VIP was on neither balancer during the hand-over";
    EXPECT_EQ(counter("a", "effective_priority"), 1);
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"failover\"") << inst("a");
    EXPECT_THAT(lvsctl("a", {"status"}).output, HasSubstr("override failover since"));
    ASSERT_TRUE(served_by("b")) << client_.output();
    // It stays that way: a does not take mastership back while b advertises.
    EXPECT_EQ(hold_for(1500ms, [&]() -> std::string { return a_backup_b_master() ? "" : "a took over again"; }), "");
    // The hand-over is what must not fail a request (the preemption below is VRRP's own).
    stop_client();
    std::cout << "[ measure  ] requests " << requests() << ", by a " << answered_by("a") << ", by b "
              << answered_by("b") << ", failed " << failures() << std::endl;
    EXPECT_EQ(failures_outside(asked, moved), "") << client_.output();

    r = lvsctl("a", {"failover", "--clear", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("VI_1: BACKUP, priority 150 (configured 150), no override"));
    // a preempts: b's lower adverts are discarded, a is master after Master_Down_Interval.
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 5s))
        << status("a") << status("b");
    EXPECT_EQ(override_kind("a"), "null");
}

TEST_F(Failover, MovesTheVipToAKeepalivedPeerMakeBeforeBreak) {
    write("a", render("a", conf_a()));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    start_keepalived_b();
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 15s))
        << status("a") << ka_.output();
    start_client();
    ASSERT_TRUE(served_by("a")) << client_.output();
    const auto mark = ka_.output().size();

    const double asked = wall_now();
    auto r = lvsctl("a", {"failover", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 5s, 5ms)) << status("a") << ka_.output();
    const double moved = wall_now();
    EXPECT_THAT(ka_.output().substr(mark), HasSubstr("Entering MASTER STATE"));
    ASSERT_TRUE(served_by("b")) << client_.output();
    EXPECT_EQ(hold_for(1500ms, [&]() -> std::string {
                  return state("a") == "BACKUP" && has_vip("b") && !has_vip("a") ? "" : "a took over again";
              }),
              "");
    stop_client();
    std::cout << "[ measure  ] requests " << requests() << ", by a " << answered_by("a") << ", by b "
              << answered_by("b") << ", failed " << failures() << std::endl;
    EXPECT_EQ(failures_outside(asked, moved), "") << client_.output();

    r = lvsctl("a", {"failover", "--clear", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 5s))
        << status("a") << ka_.output();
}

TEST_F(Failover, HoldSurvivesThePeersDeathASighupAndARestart) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    auto r = lvsctl("a", {"hold", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("VI_1: MASTER, priority 1 (configured 150), hold"));
    ASSERT_TRUE(wait_until([&] { return a_backup_b_master(); }, 5s)) << status("a") << status("b");

    // b dies without a word (by pid): with advert_int 0.1 a would be master within
    // 0.4 s; held, it stays BACKUP and says so in its log.
    ASSERT_EQ(::kill(b_.pid(), SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !b_.running(); }, 5s));
    auto stays_backup = [&]() -> std::string {
        if (auto s = state("a"); s != "BACKUP") return "a is " + s;
        if (has_vip_anywhere("a")) return "a holds the VIP";
        return {};
    };
    EXPECT_EQ(hold_for(2s, stays_backup), "") << a_.output();
    EXPECT_THAT(a_.output(), HasSubstr("the operator holds this instance in BACKUP"));

    // SIGHUP: a reload keeps the override.
    ASSERT_EQ(::kill(a_.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return generation("a") == 2; }, 5s)) << a_.output();
    EXPECT_EQ(hold_for(1s, stays_backup), "") << a_.output();
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"hold\"") << inst("a");

    // A restart of lvsd: the state file brings the hold back before the instance starts.
    ASSERT_EQ(::kill(a_.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 10s));
    EXPECT_EQ(a_.status(), 0) << a_.output();
    std::ifstream saved(dir_ + "/a.overrides");
    std::stringstream text;
    text << saved.rdbuf();
    EXPECT_THAT(text.str(), HasSubstr("vrrp_instance VI_1 hold"));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "BACKUP"; }, 10s)) << a_.output();
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"hold\"") << inst("a");
    EXPECT_EQ(hold_for(2s, stays_backup), "") << a_.output();

    // Released: no master is heard, so a takes over.
    r = lvsctl("a", {"hold", "--clear", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a"); }, 5s)) << status("a");
}

TEST_F(Failover, RefusalsAreClearAndChangeNothing) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    auto r = lvsctl("a", {"failover", "VI_9"});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("no vrrp instance named \"VI_9\""));
    r = lvsctl("a", {"hold", "--group", "G9"});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("no vrrp sync group named \"G9\""));
    r = lvsctl("a", {"failover", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    r = lvsctl("a", {"hold", "--clear", "VI_1"});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("lvsctl failover --clear VI_1"));
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"failover\"") << inst("a");
}

// `drain --balancer` on a VRRP-only balancer: every instance hands over as with failover,
// the drain survives a restart (the state file), and `undrain --balancer` lets a preempt
// back.
TEST_F(Failover, ABalancerDrainHandsEveryInstanceOverAndSurvivesARestart) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    // --wait ends at once: there are no real servers to wait for (a script's `&&` goes on).
    auto r = lvsctl("a", {"drain", "--balancer", "--wait"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("every VRRP instance fails over"));
    EXPECT_THAT(r.output, HasSubstr("drained"));
    ASSERT_TRUE(wait_until([&] { return a_backup_b_master(); }, 5s)) << status("a") << status("b");
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"failover\"") << inst("a");
    EXPECT_THAT(lvsctl("a", {"status"}).output, HasSubstr("override failover since"));
    // Said as on a balancer with virtual services: status, --json and the metrics.
    EXPECT_THAT(lvsctl("a", {"status"}).output, HasSubstr("balancer drained (lvsctl drain --balancer"));
    EXPECT_THAT(lvsctl("a", {"status", "--json"}).output, HasSubstr("\"balancer_drained\":true"));
    ASSERT_EQ(::kill(a_.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 10s));
    EXPECT_EQ(a_.status(), 0) << a_.output();
    std::stringstream kept;
    kept << std::ifstream(dir_ + "/a.overrides").rdbuf();
    EXPECT_THAT(kept.str(), HasSubstr("balancer drain"));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "BACKUP"; }, 10s)) << a_.output();
    // Back up, a stays backup: the drain came back from the state file.
    EXPECT_EQ(hold_for(1500ms, [&]() -> std::string { return a_backup_b_master() ? "" : "a took over"; }), "")
        << status("a") << status("b");
    EXPECT_EQ(override_kind("a"), "{\"kind\":\"failover\"") << inst("a");
    // Clearing the instance's own failover cannot end the balancer's: the answer says so.
    r = lvsctl("a", {"failover", "--clear", "VI_1"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("until lvsctl undrain --balancer"));
    r = lvsctl("a", {"undrain", "--balancer"});
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 5s))
        << status("a") << status("b");
    EXPECT_EQ(override_kind("a"), "null");
    EXPECT_THAT(lvsctl("a", {"status", "--json"}).output, HasSubstr("\"balancer_drained\":false"));
}

// A sync group moves as one: `failover --group` hands both instances over, a member alone
// is refused, and `--clear` brings both back.
TEST_F(Failover, ASyncGroupMovesAsOne) {
    auto conf = [&](const std::string& node, int priority) {
        std::string s = "global_defs = { control_socket = \"" + sock(node) + "\"; };\nvrrp_instances = (\n";
        for (int i = 0; i < 2; ++i)
            s += std::string(i ? ",\n" : "") + "  { name = \"VI_" + std::to_string(i + 1) +
                 "\"; interface = \"eth0\"; virtual_router_id = " + std::to_string(51 + i) +
                 "; priority = " + std::to_string(priority) + "; version = 3; advert_int = 0.1;\n"
                 "    virtual_ipaddress = [ \"192.0.2." + std::to_string(10 + i) + "/24\" ]; }";
        return s + "\n);\nvrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_1\", \"VI_2\" ]; } );\n";
    };
    write("a", conf("a", 150));
    write("b", conf("b", 100));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    auto both_on = [&](const std::string& on, const std::string& off) {
        return has_vip(on) && has_vip(on, "eth0", "192.0.2.11/24") && !has_vip(off) &&
               !has_vip(off, "eth0", "192.0.2.11/24");
    };
    ASSERT_TRUE(wait_until([&] { return both_on("a", "b") && state("b") == "BACKUP"; }, 15s)) << status("a");

    auto r = lvsctl("a", {"failover", "VI_2"});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("use --group G"));
    EXPECT_TRUE(both_on("a", "b"));

    r = lvsctl("a", {"failover", "--group", "G"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("VI_1: MASTER, priority 1 (configured 150), failover"));
    EXPECT_THAT(r.output, HasSubstr("VI_2: MASTER, priority 1 (configured 150), failover"));
    EXPECT_THAT(r.output, HasSubstr("on sync group G"));
    ASSERT_TRUE(wait_until([&] { return both_on("b", "a"); }, 5s)) << status("a") << status("b");
    EXPECT_EQ(hold_for(1500ms, [&]() -> std::string { return both_on("b", "a") ? "" : "a took a VIP back"; }), "");

    r = lvsctl("a", {"failover", "--clear", "--group", "G"});
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_TRUE(wait_until([&] { return both_on("a", "b"); }, 5s)) << status("a") << status("b");
}

// A reload that removes the instance drops its override, with a log line, and the state
// file forgets it; a reload that keeps it keeps the override.
TEST_F(Failover, AReloadThatRemovesTheInstanceDropsItsOverride) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    ASSERT_EQ(lvsctl("a", {"hold", "VI_1"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return a_backup_b_master(); }, 5s)) << status("a");
    // The same instance under another name: VI_1 leaves the configuration.
    std::string text = render("a", conf_a());
    text.replace(text.find("\"VI_1\""), 6, "\"VI_9\"");
    write("a", text);
    auto r = lvsctl("a", {"reload"});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(a_.output(), HasSubstr("vrrp instance VI_1: the operator's hold is dropped: the instance is no "
                                       "longer in the configuration"));
    std::ifstream saved(dir_ + "/a.overrides");
    std::stringstream file;
    file << saved.rdbuf();
    EXPECT_EQ(file.str().find("VI_1"), std::string::npos) << file.str();
    // Nothing holds VI_9 back: a (150) preempts b.
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 5s)) << a_.output();
    const auto s = instance_object(status("a"), "VI_9");
    EXPECT_THAT(s, HasSubstr("\"state\":\"MASTER\""));
    EXPECT_THAT(s, HasSubstr("\"override\":null"));
}
