// Weighted tracking on a real lvsd pair (issue #12, tracked scripts): a tracked script on
// the master that starts failing moves the VIP by its weight and back when it recovers;
// weight 0 means FAULT; a hanging script is killed at its timeout with its children; a
// script others can rewrite is refused; track_interface weights move the priority.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;

namespace {

class Tracking : public PairTest {
protected:
    // A script that succeeds unless the file `<dir>/<node>.fail` exists: the test fails it
    // by creating that file.
    std::string make_check(const std::string& node) {
        const std::string path = dir_ + "/" + node + "-check";
        std::ofstream(path) << "#!/bin/sh\ntest ! -e " << dir_ << "/" << node << ".fail\n";
        ::chmod(path.c_str(), 0755);
        ::chmod(dir_.c_str(), 0755);
        return path;
    }
    void fail(const std::string& node) { std::ofstream(dir_ + "/" + node + ".fail") << "x\n"; }
    void recover(const std::string& node) { ::unlink((dir_ + "/" + node + ".fail").c_str()); }

    VrrpConf tracked(VrrpConf c, const std::string& script, int weight, const std::string& more = "") {
        c.top_extra = "vrrp_scripts = ( {\n    name = \"chk\";\n    script = \"" + script +
                      "\";\n    interval = 0.1;\n    weight = " + std::to_string(weight) +
                      ";\n    fall = 2;\n    rise = 2;\n" + more + "} );\n";
        c.instance_extra = "    track_script = [ \"chk\" ];\n";
        return c;
    }
};

}  // namespace

TEST_F(Tracking, AFailingScriptWithANegativeWeightMovesTheVipAndBack) {
    ASSERT_NO_FATAL_FAILURE(start_pair(tracked(conf_a(), make_check("a"), -60), tracked(conf_b(), make_check("b"), -60)));
    EXPECT_EQ(counter("a", "effective_priority"), 150);

    auto t0 = Clock::now();
    fail("a");
    // interval x fall (0.2 s) for the verdict, then b's Master_Down_Interval (~0.4 s).
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 5s, 5ms)) << status("a") << status("b");
    const long moved = ms_since(t0);
    measure("script_failed_to_vip_on_b_ms", moved);
    EXPECT_LT(moved, 2000);
    EXPECT_EQ(counter("a", "effective_priority"), 90);
    EXPECT_EQ(state("a"), "BACKUP");
    EXPECT_THAT(status("a"), HasSubstr(R"("tracker":"script chk","delta":-60,"fault":false)"));
    EXPECT_THAT(a_.output(), HasSubstr("effective priority 150 -> 90"));

    t0 = Clock::now();
    recover("a");
    // a preempts (150 > 100) once its script succeeds twice.
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 5s, 5ms)) << status("a") << status("b");
    measure("script_recovered_to_vip_on_a_ms", ms_since(t0));
    EXPECT_EQ(counter("a", "effective_priority"), 150);
    EXPECT_EQ(state("b"), "BACKUP");
}

TEST_F(Tracking, WeightZeroPutsTheInstanceInFaultWhileTheScriptFails) {
    ASSERT_NO_FATAL_FAILURE(start_pair(tracked(conf_a(), make_check("a"), 0), tracked(conf_b(), make_check("b"), 0)));
    fail("a");
    ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT" && has_vip("b"); }, 5s)) << status("a");
    EXPECT_EQ(fld("a", "fault"), "script chk failed");
    EXPECT_FALSE(has_vip("a"));
    recover("a");
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 5s))
        << status("a") << status("b");
    EXPECT_EQ(fld("a", "fault"), "");
}

TEST_F(Tracking, AHangingScriptIsKilledAtItsTimeoutWithItsChildren) {
    // A shell that waits for a child: the whole process group must go at the timeout.
    const std::string hang = dir_ + "/hang";
    std::ofstream(hang) << "#!/bin/sh\nsleep 37\n";
    ::chmod(hang.c_str(), 0755);
    ::chmod(dir_.c_str(), 0755);
    VrrpConf a = tracked(conf_a(), hang, 0, "    timeout = 0.3;\n");
    a.top_extra = "vrrp_scripts = ( {\n    name = \"chk\";\n    script = \"" + hang +
                  "\";\n    interval = 0.5;\n    timeout = 0.3;\n    weight = 0;\n    fall = 1;\n} );\n";
    write("a", render("a", a));
    write("b", render("b", conf_b()));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT" && has_vip("b"); }, 10s)) << status("a") << a_.output();
    EXPECT_THAT(status("a"), HasSubstr("killed after its timeout"));
    // Never more than one run at a time, and nothing left behind: at most the current
    // run's sleep exists at any moment.
    for (int i = 0; i < 10; ++i) {
        auto r = lab_.exec("a", {"pgrep", "-c", "-f", "sleep 37"});
        EXPECT_LE(std::atoi(r.output.c_str()), 1) << r.output;
        std::this_thread::sleep_for(100ms);
    }
    a_.stop();
    ASSERT_TRUE(wait_until([&] { return lab_.exec("a", {"pgrep", "-f", "sleep 37"}).status != 0; }, 3s))
        << "a tracked script's child outlived lvsd";
}

TEST_F(Tracking, AScriptOthersCanRewriteIsRefusedWithItsLine) {
    const std::string path = make_check("a");
    ::chmod(path.c_str(), 0757);
    const std::string text = render("a", tracked(conf_a(), path, -60));
    write("a", text);
    auto r = run({kLvsd, "-t", "-f", conf_path("a")});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr(conf_path("a") + ":" + std::to_string(line_of(text, "script =")) + ":"));
    EXPECT_THAT(r.output, HasSubstr("writable by group or others"));
    EXPECT_THAT(r.output, ::testing::Not(HasSubstr("is not in vrrp_scripts")));  // it is, refused
    // Handed to a shell or an interpreter, the file is checked just the same.
    for (const std::string& form : {"sh " + path, path + " && true"}) {
        write("a", render("a", tracked(conf_a(), form, -60)));
        r = run({kLvsd, "-t", "-f", conf_path("a")});
        EXPECT_EQ(r.status, 1) << form << "\n" << r.output;
        EXPECT_THAT(r.output, HasSubstr("writable by group or others")) << form;
    }
    write("a", text);
    // A directory on its path that others can write to (no sticky bit) is as bad.
    ::chmod(path.c_str(), 0755);
    ::chmod(dir_.c_str(), 0777);
    r = run({kLvsd, "-t", "-f", conf_path("a")});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("which a user other than root can write to"));
    ::chmod(dir_.c_str(), 0755);
    r = run({kLvsd, "-t", "-f", conf_path("a")});
    EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(Tracking, ShellSyntaxRunsUnderShAndABareNameIsFoundInTheSystemPath) {
    // `test` is /usr/bin/test; `[ ... ] || exit 1` needs a shell.
    VrrpConf a = tracked(conf_a(), "[ ! -e " + dir_ + "/a.fail ] || exit 1", -60);
    VrrpConf b = tracked(conf_b(), "test ! -e " + dir_ + "/b.fail", -60);
    ::chmod(dir_.c_str(), 0755);
    ASSERT_NO_FATAL_FAILURE(start_pair(a, b));
    fail("a");
    ASSERT_TRUE(wait_until([&] { return counter("a", "effective_priority") == 90; }, 5s)) << status("a");
    fail("b");
    ASSERT_TRUE(wait_until([&] { return counter("b", "effective_priority") == 40; }, 5s)) << status("b");
}

TEST_F(Tracking, TrackInterfaceWeightsMoveThePriority) {
    lab_.ip("a", "link add up0 type veth peer name up1");
    lab_.ip("a", "link set up0 up");
    lab_.ip("a", "link set up1 up");
    VrrpConf a = conf_a();
    a.instance_extra = "    track_interface = ( { interface = \"up0\"; weight = -60; } );\n";
    ASSERT_NO_FATAL_FAILURE(start_pair(a, conf_b()));
    lab_.ip("a", "link set up1 down");  // up0 loses its carrier
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 5s)) << status("a");
    EXPECT_EQ(counter("a", "effective_priority"), 90);
    EXPECT_THAT(status("a"), HasSubstr(R"("tracker":"interface up0","delta":-60)"));
    lab_.ip("a", "link set up1 up");
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 5s)) << status("a");
    EXPECT_EQ(counter("a", "effective_priority"), 150);
}

TEST_F(Tracking, SyncGroupNotifyRunsOnceAllMembersAgreeAndItsTrackScriptReachesEveryMember) {
    const std::string check = make_check("a");
    const std::string notify = dir_ + "/group-notify";
    const std::string out = dir_ + "/group-notify.out";
    std::ofstream(notify) << "#!/bin/sh\necho \"$@\" >> " << out << "\n";
    ::chmod(notify.c_str(), 0755);
    const std::string text = "global_defs = { control_socket = \"" + sock("a") + "\"; };\n" +
                             "vrrp_scripts = ( { name = \"chk\"; script = \"" + check +
                             "\"; interval = 0.1; weight = 0; } );\n"
                             "vrrp_instances = (\n"
                             "  { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; priority = 150;\n"
                             "    version = 3; advert_int = 0.1; virtual_ipaddress = [ \"192.0.2.10/24\" ]; },\n"
                             "  { name = \"VI_2\"; interface = \"eth0\"; virtual_router_id = 52; priority = 150;\n"
                             "    version = 3; advert_int = 0.1; virtual_ipaddress = [ \"192.0.2.11/24\" ]; } );\n"
                             "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_1\", \"VI_2\" ];\n"
                             "    track_script = [ \"chk\" ];\n"
                             "    notify_master = \"" + notify + " master\";\n"
                             "    notify_fault = \"" + notify + " fault\"; } );\n";
    write("a", text);
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    auto lines = [&] {
        std::ifstream in(out);
        std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return all;
    };
    ASSERT_TRUE(wait_until([&] { return lines().find("master GROUP G MASTER") != std::string::npos; }, 10s))
        << lines() << a_.output();
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(count(lines(), "GROUP G MASTER"), 1u) << lines();
    // The group's script fails: every member goes to FAULT (weight 0), the group's
    // notify_fault runs once.
    fail("a");
    ASSERT_TRUE(wait_until([&] { return lines().find("fault GROUP G FAULT") != std::string::npos; }, 10s))
        << lines() << status("a");
    const auto s = status("a");
    EXPECT_EQ(field(instance_object(s, "VI_1"), "state"), "FAULT") << s;
    EXPECT_EQ(field(instance_object(s, "VI_2"), "state"), "FAULT") << s;
    EXPECT_EQ(count(lines(), "GROUP G FAULT"), 1u) << lines();
}

TEST_F(Tracking, ATrackFileMovesThePriorityByItsValueTimesItsWeight) {
    const std::string file = dir_ + "/weight";
    VrrpConf a = conf_a();
    a.top_extra = "vrrp_track_files = ( { name = \"w\"; file = \"" + file + "\"; weight = -2; init_file = 0; } );\n";
    a.instance_extra = "    track_file = [ \"w\" ];\n";
    ASSERT_NO_FATAL_FAILURE(start_pair(a, conf_b()));
    EXPECT_EQ(counter("a", "effective_priority"), 150);
    // Written elsewhere and renamed into place, as careful writers do.
    auto put = [&](const std::string& v) {
        std::ofstream(file + ".tmp") << v << "\n";
        ::rename((file + ".tmp").c_str(), file.c_str());
    };
    put("30");  // 150 - 60 = 90 < 100
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 5s)) << status("a");
    EXPECT_EQ(counter("a", "effective_priority"), 90);
    EXPECT_THAT(status("a"), HasSubstr(R"("tracker":"file w","delta":-60)"));
    std::ofstream(file) << "5\n";  // written in place: 150 - 10 = 140
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 5s)) << status("a");
    EXPECT_EQ(counter("a", "effective_priority"), 140);
    ::unlink(file.c_str());  // gone: 0
    ASSERT_TRUE(wait_until([&] { return counter("a", "effective_priority") == 150; }, 5s)) << status("a");
}

TEST_F(Tracking, ATrackedProcessMovesThePriorityAsItComesAndGoes) {
    // A process with a name of its own: `sleep` run under another name.
    const std::string name = "lvtp" + std::to_string(::getpid() % 100000);
    const std::string exe = dir_ + "/" + name;
    ASSERT_EQ(::symlink("/bin/sleep", exe.c_str()), 0);
    VrrpConf a = conf_a();
    a.top_extra = "vrrp_track_processes = ( { name = \"p\"; process = \"" + name + "\"; weight = -60; } );\n";
    a.instance_extra = "    track_process = [ \"p\" ];\n";
    write("a", render("a", a));
    write("b", render("b", conf_b()));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    // No such process: 150 - 60 = 90 < 100, b is master.
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && counter("a", "effective_priority") == 90; }, 10s))
        << status("a") << a_.output();
    auto proc = lab_.spawn("a", {exe, "600"});
    auto t0 = Clock::now();
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 5s)) << status("a");
    measure("process_started_to_vip_on_a_ms", ms_since(t0));  // within one /proc walk (1 s) + an election
    EXPECT_EQ(counter("a", "effective_priority"), 150);
    t0 = Clock::now();
    ::kill(proc.pid(), SIGKILL);
    ASSERT_TRUE(wait_until([&] { return counter("a", "effective_priority") == 90; }, 5s)) << status("a");
    measure("process_killed_to_priority_drop_ms", ms_since(t0));  // the pidfd: at once
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 5s)) << status("a");
}
