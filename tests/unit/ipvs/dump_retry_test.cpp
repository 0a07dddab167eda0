// A dump that met ENOBUFS (the kernel dropped messages for the socket) is asked again
// from the start with a fresh result, a bounded number of times; other errors are not
// retried. The kernel's side (ENOBUFS read to the dump's end, stale replies skipped by
// sequence number) runs in the kernel tier with every dump of the client.
#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

#include "ipvs/detail/socket.hpp"

using namespace lvsd;
using lvsd::ipvs::detail::kDumpAttempts;
using lvsd::ipvs::detail::retry_lost_dump;

namespace {

// One dump attempt over a table of three entries: the first `lost` attempts deliver
// part of it and then report ENOBUFS, as the socket would.
struct Dumper {
    int lost = 0;
    int attempts = 0;
    int error = ENOBUFS;
    Result<std::vector<int>> operator()() {
        std::vector<int> out{1, 2};  // a fresh result per attempt, as the client's dumps
        if (attempts++ < lost) return make_error(error, "dump IPVS services: replies were lost (ENOBUFS)");
        out.push_back(3);
        return out;
    }
};

}  // namespace

TEST(DumpRetry, LostRepliesAreAskedAgainWithoutDuplicates) {
    Dumper d{.lost = kDumpAttempts - 1};
    auto r = retry_lost_dump([&] { return d(); });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(d.attempts, kDumpAttempts);
}

TEST(DumpRetry, GivesUpAfterTheLastAttemptAndSaysSo) {
    Dumper d{.lost = 100};
    auto r = retry_lost_dump([&] { return d(); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOBUFS);
    EXPECT_EQ(d.attempts, kDumpAttempts);
    EXPECT_NE(r.error().message.find("replies lost 3 times in a row"), std::string::npos) << r.error().message;
}

TEST(DumpRetry, OtherErrorsAreNotRetried) {
    Dumper d{.lost = 100, .error = EPERM};
    auto r = retry_lost_dump([&] { return d(); });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EPERM);
    EXPECT_EQ(d.attempts, 1);
}

TEST(DumpRetry, VoidResultsToo) {
    int attempts = 0;
    auto r = retry_lost_dump([&]() -> Result<void> {
        if (attempts++ == 0) return make_error(ENOBUFS, "lost");
        return {};
    });
    EXPECT_TRUE(r);
    EXPECT_EQ(attempts, 2);
}
