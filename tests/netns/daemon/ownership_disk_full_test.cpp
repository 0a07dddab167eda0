// The ownership file on a full disk: the write fails with ENOSPC, the previous file stays
// whole and no temporary file is left to hold the space; once there is room again the
// next write works. A real, tiny tmpfs, mounted in a mount namespace of this process's
// own so that nothing shows outside it (needs root, as the netns tier does).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/ownership_file.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Writes zeros into `path` until the file system refuses (ENOSPC).
int fill(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return errno;
    char block[4096] = {};
    int err = 0;
    while (err == 0)
        if (::write(fd, block, sizeof block) < 0) err = errno;
    ::close(fd);
    return err;
}

}  // namespace

TEST(OwnershipFileDiskFull, TheOldFileIsKept) {
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
    ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);
    const std::string dir = "/tmp/lvsd-ownership-full-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k,mode=0700"), 0) << std::strerror(errno);
    struct Cleanup {
        std::string dir;
        ~Cleanup() {
            ::umount2(dir.c_str(), MNT_DETACH);
            ::rmdir(dir.c_str());
        }
    } cleanup{dir};

    const std::string path = dir + "/lvsd.owned";
    const std::set<ipvs::ServiceKey> before{
        ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address("192.0.2.10"), 8080)};
    ASSERT_TRUE(write_ownership(path, before));
    const std::string old_text = slurp(path);

    ASSERT_EQ(fill(dir + "/filler"), ENOSPC);
    std::set<ipvs::ServiceKey> after = before;
    for (uint16_t port = 1; port <= 200; ++port)  // more than the few bytes a full tmpfs may still take
        after.insert(ipvs::ServiceKey::endpoint(ipvs::Protocol::Udp, *parse_address("2001:db8::10"), port));
    auto w = write_ownership(path, after);
    ASSERT_FALSE(w) << "the write succeeded on a full file system";
    EXPECT_EQ(w.error().code, ENOSPC) << w.error().message;
    EXPECT_NE(w.error().message.find("the previous " + path + " is kept"), std::string::npos) << w.error().message;
    EXPECT_EQ(slurp(path), old_text);
    EXPECT_EQ(read_ownership(path).owned, before);
    EXPECT_FALSE(std::filesystem::exists(path + ".new")) << "the partial temporary file is left behind";

    // Room again: the next write goes through.
    ASSERT_EQ(::unlink((dir + "/filler").c_str()), 0);
    ASSERT_TRUE(write_ownership(path, after));
    EXPECT_EQ(read_ownership(path).owned, after);
}
