// One lvsd per configuration (issue #16): a second `lvsd -f` with the same control socket,
// as an operator debugging by hand would start, is refused before it touches anything;
// the running pair does not notice. A lock left by a crashed lvsd is taken over.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace {

class InstanceLock : public PairTest {
protected:
    std::string lock_file(const std::string& node) const { return dir_ + "/" + node + ".lock"; }
    std::string read_file(const std::string& path) const {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
};

}  // namespace

TEST_F(InstanceLock, ASecondLvsdWithTheSameSocketIsRefusedAndChangesNothing) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    const long generation_before = generation("a");
    const std::string holder = read_file(lock_file("a"));
    EXPECT_THAT(holder, MatchesRegex("[0-9]+\n"));

    // The same file, in the same namespace and in the other one (a path is seen by all).
    for (const char* ns : {"a", "b"}) {
        SCOPED_TRACE(ns);
        auto second = lab_.spawn(ns, {kLvsd, "-f", conf_path("a")});
        ASSERT_TRUE(wait_until([&] { return !second.running(); }, 10s)) << second.output();
        EXPECT_EQ(second.status(), 1);
        const std::string pid = holder.substr(0, holder.size() - 1);
        EXPECT_THAT(second.output(), HasSubstr("cannot start: another lvsd (pid " + pid +
                                               ") already runs with this control socket (it holds " + lock_file("a") +
                                               "); stop it first, or give this one another control_socket"));
    }
    // The first still answers on its socket, unchanged, and the pair is as it was.
    EXPECT_EQ(state("a"), "MASTER");
    EXPECT_TRUE(has_vip("a"));
    EXPECT_EQ(generation("a"), generation_before);
    EXPECT_EQ(state("b"), "BACKUP");
    EXPECT_FALSE(has_vip("b"));
    EXPECT_EQ(read_file(lock_file("a")), holder);

    // Stopping the first hands over as always; its socket goes, the lock file stays.
    a_.stop();
    ASSERT_TRUE(wait_until([&] { return has_vip("b"); }, 5s)) << status("b");
    EXPECT_NE(::access(lock_file("a").c_str(), F_OK), -1);
    EXPECT_EQ(::access(sock("a").c_str(), F_OK), -1);
}

TEST_F(InstanceLock, ALockLeftByACrashedLvsdIsTakenOver) {
    // A file from a process that is gone (flock locks die with their holder).
    write("a", render("a", conf_a()));
    std::ofstream(lock_file("a")) << "999999999\n";
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER"; }, 15s)) << a_.output();
    EXPECT_NE(read_file(lock_file("a")), "999999999\n");

    // SIGKILL: no clean-up at all, and the next lvsd still starts.
    ::kill(a_.pid(), SIGKILL);
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 5s));
    auto next = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    EXPECT_TRUE(wait_until([&] { return state("a") == "MASTER"; }, 15s)) << next.output();
    EXPECT_THAT(next.output(), Not(HasSubstr("another lvsd")));
    next.stop();
}
