// Issue #11, the reload half (DESIGN.md: "A reload is a transaction: parse and validate,
// check against the host, then apply to every engine; a failure at any step leaves
// everything as it was"). A reload that names an interface the host does not have, or a
// metrics address that is not the host's, is rejected with FILE:LINE of the offending
// setting, and the running daemon is exactly as before: same status (apart from clocks and
// advert counters), same generation, the master keeps its VIP throughout. And `lvsd -t`,
// which cannot see the peers' host, says that unicast peers are checked at run time.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;

namespace {

class ReloadTransaction : public PairTest {
protected:
    // Reloads a with `bad` (whose line containing `needle` is the offending one), checks the
    // rejection and that nothing changed, then reloads the original file: accepted.
    void rejected_then_restored(const VrrpConf& bad, const std::string& needle) {
        ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
        const std::string good = render("a", conf_a());
        const std::string before = normalized(status("a"));
        const long gen = generation("a");
        ASSERT_GT(gen, 0) << before;

        const std::string text = render("a", bad);
        const int line = line_of(text, needle);
        ASSERT_GT(line, 0) << text;
        const std::string path = write("a", text);
        const auto t0 = Clock::now();
        const auto r = lvsctl("a", {"reload"});
        measure("rejected_reload_ms", ms_since(t0));
        EXPECT_NE(r.status, 0) << r.output;
        EXPECT_THAT(r.output, HasSubstr("reload rejected"));
        const std::string where = path + ":" + std::to_string(line) + ":";
        EXPECT_THAT(r.output, HasSubstr(where))
            << "the rejection must name " << where << " (the line with '" << needle << "'):\n"
            << "file:\n" << text;

        // Nothing moved: a keeps MASTER and the VIP, b stays BACKUP.
        EXPECT_EQ(hold_for(1s, [&]() -> std::string {
                      if (auto s = state("a"); s != "MASTER") return "a is " + s;
                      if (!has_vip("a")) return "a lost the VIP";
                      if (auto s = state("b"); s != "BACKUP") return "b is " + s;
                      return {};
                  }),
                  "")
            << a_.output();
        EXPECT_EQ(normalized(status("a")), before) << "a rejected reload changed the running state";
        EXPECT_EQ(generation("a"), gen);
        EXPECT_FALSE(has_vip("a", "eth0", "192.0.2.11/24")) << addrs("a");

        // The original file again: accepted, one generation on, still MASTER with the VIP.
        write("a", good);
        const auto ok = lvsctl("a", {"reload"});
        EXPECT_EQ(ok.status, 0) << ok.output << a_.output();
        EXPECT_THAT(ok.output, HasSubstr("reloaded"));
        EXPECT_EQ(generation("a"), gen + 1);
        EXPECT_EQ(hold_for(500ms, [&]() -> std::string {
                      if (auto s = state("a"); s != "MASTER") return "a is " + s;
                      return has_vip("a") ? "" : "a lost the VIP";
                  }),
                  "")
            << a_.output();
    }
};

// 8a. A VIP on an interface the host does not have.
TEST_F(ReloadTransaction, VipOnMissingInterfaceIsRejected) {
    auto bad = conf_a();
    bad.vips = {"192.0.2.10/24", "192.0.2.11/24 dev eth9"};
    ASSERT_NO_FATAL_FAILURE(rejected_then_restored(bad, "eth9"));
}

// 8b. The instance moved to an interface the host does not have (an identity change, which
// would otherwise stop the running instance and start a new one).
TEST_F(ReloadTransaction, InstanceOnMissingInterfaceIsRejected) {
    auto bad = conf_a();
    bad.interface = "eth9";
    ASSERT_NO_FATAL_FAILURE(rejected_then_restored(bad, "eth9"));
}

// 9. The metrics endpoint on an address that is not the host's (203.0.113.99 is nowhere in
// the lab): the host check fails, and with it the whole reload.
TEST_F(ReloadTransaction, MetricsAddressNotOnHostIsRejected) {
    auto bad = conf_a();
    bad.global_extra = "    metrics_listen = \"203.0.113.99:9100\";\n";
    ASSERT_NO_FATAL_FAILURE(rejected_then_restored(bad, "metrics_listen"));
}

// 10. `lvsd -t` checks what it can see on this host; whether unicast peers answer is only
// known once adverts flow, and the check says so instead of staying silent.
TEST_F(ReloadTransaction, ConfigTestNotesUnicastPeersAreCheckedAtRunTime) {
    const std::string path = write("a", render("a", conf_a(/*unicast=*/true)));
    const auto r = lab_.exec("a", {kLvsd, "-t", "-f", path}, 10s);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("run time"))
        << "lvsd -t should note that unicast peers' reachability is only checked at run time";
}

}  // namespace
