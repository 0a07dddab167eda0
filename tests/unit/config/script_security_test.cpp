// keepalived's script security, as lvsd always applies it (config/detail/script_security.hpp):
// one checker for notify commands, vrrp_scripts and MISC_CHECK.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/detail/script_security.hpp"

using namespace lvsd::config::detail;
using ::testing::HasSubstr;

namespace {

class ScriptSecurity : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = (std::filesystem::path(::testing::TempDir()) / ("lvsd-script-security-" + std::to_string(::getpid()))).string();
        std::filesystem::create_directories(dir_);
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        script_ = dir_ + "/check.sh";
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
        ASSERT_EQ(::chmod(script_.c_str(), 0755), 0);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    // Changing owners needs root; the rest of a test runs as any user.
    static bool root() { return ::getuid() == 0; }
    std::string dir_;
    std::string script_;
};

TEST_F(ScriptSecurity, AFileOnlyRootAndItsUserCanChangeIsAccepted) {
    if (!root()) GTEST_SKIP() << "the test's files are root's only when it runs as root";
    EXPECT_EQ(unsafe_to_run(script_), std::nullopt);
    EXPECT_EQ(unsafe_command({"/bin/sh", "-c", script_ + " | grep -q up"}, 0, "root"), std::nullopt);
}

TEST_F(ScriptSecurity, AProgramMustBeExecutableAFileItReadsNeedNot) {
    if (!root()) GTEST_SKIP() << "the test's files are root's only when it runs as root";
    ASSERT_EQ(::chmod(script_.c_str(), 0644), 0);
    EXPECT_THAT(unsafe_to_run(script_).value_or(""), HasSubstr("is not executable (mode 0644)"));
    EXPECT_EQ(unsafe_to_run(script_, 0, "root", false), std::nullopt);
    EXPECT_EQ(unsafe_command({"/bin/sh", script_}, 0, "root"), std::nullopt);  // sh reads it
    // A shell text that starts with the script's path runs it: it must be executable.
    EXPECT_THAT(unsafe_command({"/bin/sh", "-c", script_ + " | grep -q up"}, 0, "root").value_or(""),
                HasSubstr("is not executable"));
}

TEST_F(ScriptSecurity, WritableByGroupOrOthersIsRefused) {
    ASSERT_EQ(::chmod(script_.c_str(), 0775), 0);
    EXPECT_THAT(unsafe_to_run(script_, ::getuid(), "me").value_or(""),
                HasSubstr("is writable by group or others (mode 0775) but would run as me"));
    ASSERT_EQ(::chmod(script_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
    EXPECT_THAT(unsafe_to_run(script_, ::getuid(), "me").value_or(""),
                HasSubstr("is in '" + dir_ + "', which a user other than root can write to (mode 0777"));
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);  // sticky, as /tmp: only a file's owner may replace it
    EXPECT_EQ(unsafe_to_run(script_, ::getuid(), "me"), std::nullopt);
}

// The check notify commands and vrrp_scripts had let this through: only an owner's write
// bit counted, but an owner may chmod at will.
TEST_F(ScriptSecurity, AReadOnlyFileOfAnotherUserIsRefused) {
    if (!root()) GTEST_SKIP() << "chown needs root";
    ASSERT_EQ(::chown(script_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(script_.c_str(), 0555), 0);
    EXPECT_THAT(unsafe_to_run(script_).value_or(""),
                HasSubstr("is owned by uid 65534, who could rewrite what lvsd runs as root"));
    // Run as that user, the file is theirs to change: nothing is gained.
    EXPECT_EQ(unsafe_to_run(script_, 65534, "nobody"), std::nullopt);
}

// Also missed there: a sticky directory counted as safe whoever owned it, but its owner
// can replace any file in it.
TEST_F(ScriptSecurity, AStickyDirectoryOfAnotherUserIsRefused) {
    if (!root()) GTEST_SKIP() << "chown needs root";
    ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
    EXPECT_THAT(unsafe_to_run(script_).value_or(""),
                HasSubstr("is in '" + dir_ + "', owned by uid 65534, who could replace what lvsd runs as root"));
    ASSERT_EQ(::chown(dir_.c_str(), 0, 0), 0);
    EXPECT_EQ(unsafe_to_run(script_), std::nullopt);
}

// The check MISC_CHECK had let this through: only the program (or /bin/sh and the script
// a shell text starts with) was checked, not a script handed to an interpreter.
TEST_F(ScriptSecurity, EveryFileACommandNamesIsChecked) {
    ASSERT_EQ(::chmod(script_.c_str(), 0646), 0);
    EXPECT_THAT(unsafe_command({"/bin/sh", script_}, ::getuid(), "me").value_or(""),
                HasSubstr("'" + script_ + "' is writable by group or others"));
    EXPECT_THAT(unsafe_command({"/bin/sh", "-c", "/bin/true && " + script_}, ::getuid(), "me").value_or(""),
                HasSubstr("'" + script_ + "' is writable by group or others"));
    // A path that names no file is an argument, not a script.
    EXPECT_EQ(unsafe_command({"/bin/true", dir_ + "/none"}, 0, "root"), std::nullopt);
}

}  // namespace
