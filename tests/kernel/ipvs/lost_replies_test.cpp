// Lost netlink replies with the real kernel (issue #16, faults): a client whose receive
// buffer is far too small for its batches makes the kernel drop ACKs and report ENOBUFS.
// The ops themselves were carried out (only their answers are lost: those ops report
// ENOBUFS, or ETIMEDOUT when the kernel reported the overrun once and dropped more
// after it; either way the outcome is unknown), and every dump afterwards -- which meets the stale ACKs and
// the kernel's ENOBUFS on the same socket -- still returns the whole table.
#include <iostream>
#include <regex>

#include "fixture.hpp"

using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

TEST(IpvsLostReplies, AcksLostToASmallReceiveBufferAndEveryDumpIsStillWhole) {
    lt::Lab lab;
    const std::string ns = lab.netns("lb");
    // The kernel doubles it and keeps a minimum of about 2 KiB: a handful of ACKs.
    auto c = in_netns(ns, [] { return Client::open(1024); });
    ASSERT_TRUE(c.ok()) << c.error().message;
    auto& client = **c;

    constexpr int kServices = 100;  // each batch whose ACKs time out costs 5 s under TCG
    std::vector<Op> ops;
    for (int s = 0; s < kServices; ++s)
        ops.push_back(add_service(tcp_service(fmt::format("203.0.113.{}", s % 250 + 1).c_str(),
                                              static_cast<uint16_t>(10000 + s / 250), "rr")));
    const auto results = client.apply(ops);
    int ok = 0, lost = 0, other = 0;
    std::string first_other;
    for (const auto& r : results) {
        if (r.ok())
            ++ok;
        else if (r.error().code == ENOBUFS || r.error().code == ETIMEDOUT)
            ++lost;
        else if (other++ == 0)
            first_other = r.error().message;
    }
    std::cout << fmt::format("[ info ] {} ops: {} acknowledged, {} answers lost (ENOBUFS, ETIMEDOUT)\n", kServices, ok, lost);
    EXPECT_GT(lost, 0) << "no ACK was lost: this test proves nothing with this receive buffer";
    EXPECT_EQ(other, 0) << first_other;

    // The kernel did them all, whatever the answers said.
    const auto listed = lab.exec("lb", {"ipvsadm", "-Ln"}).output;
    const std::regex service_line("\nTCP  ");
    EXPECT_EQ(std::distance(std::sregex_iterator(listed.begin(), listed.end(), service_line), std::sregex_iterator()),
              kServices);

    // Dumps on the socket that lost messages: whole, every time.
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        const uint64_t before = client.requests_sent();
        auto table = client.dump();
        ASSERT_TRUE(table.ok()) << table.error().message;
        EXPECT_EQ(table->size(), static_cast<std::size_t>(kServices));
        auto services = client.services();
        ASSERT_TRUE(services.ok()) << services.error().message;
        EXPECT_EQ(services->size(), static_cast<std::size_t>(kServices));
        std::cout << fmt::format("[ info ] round {}: dump and services took {} requests ({} without a retry)\n", round,
                                 client.requests_sent() - before, kServices + 2);
    }
}
