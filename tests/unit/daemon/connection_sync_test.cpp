// The sync daemon lvsd wants for each VRRP state, and the steps from what runs to that.
#include <gtest/gtest.h>

#include "daemon/connection_sync.hpp"

using namespace lvsd;
using namespace lvsd::daemon;
using ipvs::SyncRole;
using vrrp::State;

namespace {

config::SyncDaemon configured() {
    config::SyncDaemon c;
    c.interface = "eth1";
    c.instance = "VI_1";
    c.syncid = 51;
    return c;
}

ipvs::SyncDaemon sync_daemon(SyncRole role, std::string interface = "eth1", uint8_t id = 51) {
    ipvs::SyncDaemon d;
    d.role = role;
    d.interface = std::move(interface);
    d.sync_id = id;
    return d;
}

// What the kernel reports: its defaults filled in.
ipvs::SyncDaemon as_dumped(ipvs::SyncDaemon d) {
    d.max_length = 1472;
    d.port = 8848;
    d.ttl = 1;
    d.group = *parse_address("224.0.0.81");
    return d;
}

}  // namespace

TEST(WantedSyncDaemon, MasterOnlyWhileMasterBackupOtherwise) {
    EXPECT_EQ(wanted_sync_daemon(configured(), State::Master), sync_daemon(SyncRole::Master));
    EXPECT_EQ(wanted_sync_daemon(configured(), State::Backup), sync_daemon(SyncRole::Backup));
    EXPECT_EQ(wanted_sync_daemon(configured(), State::Fault), sync_daemon(SyncRole::Backup));
    EXPECT_EQ(wanted_sync_daemon(configured(), State::Initialize), sync_daemon(SyncRole::Backup));
}

TEST(PlanSync, StartsWhatIsMissing) {
    auto steps = plan_sync({}, sync_daemon(SyncRole::Backup));
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0], (SyncStep{SyncStep::Kind::Start, sync_daemon(SyncRole::Backup)}));
}

TEST(PlanSync, KeepsTheWantedDaemonAsTheKernelReportsIt) {
    EXPECT_TRUE(plan_sync({as_dumped(sync_daemon(SyncRole::Master))}, sync_daemon(SyncRole::Master)).empty());
}

TEST(PlanSync, TakeoverStopsTheBackupBeforeStartingTheMaster) {
    auto steps = plan_sync({as_dumped(sync_daemon(SyncRole::Backup))}, sync_daemon(SyncRole::Master));
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].kind, SyncStep::Kind::Stop);
    EXPECT_EQ(steps[0].daemon.role, SyncRole::Backup);
    EXPECT_EQ(steps[1], (SyncStep{SyncStep::Kind::Start, sync_daemon(SyncRole::Master)}));
}

TEST(PlanSync, BothRolesLeftRunningByAnEarlierRunLeaveOnlyTheWantedOne) {
    auto steps = plan_sync({as_dumped(sync_daemon(SyncRole::Master)), as_dumped(sync_daemon(SyncRole::Backup))},
                           sync_daemon(SyncRole::Backup));
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].kind, SyncStep::Kind::Stop);
    EXPECT_EQ(steps[0].daemon.role, SyncRole::Master);
}

TEST(PlanSync, AnotherInterfaceOrSyncIdRestartsTheDaemon) {
    for (auto running : {sync_daemon(SyncRole::Master, "eth0"), sync_daemon(SyncRole::Master, "eth1", 7)}) {
        auto steps = plan_sync({as_dumped(running)}, sync_daemon(SyncRole::Master));
        ASSERT_EQ(steps.size(), 2u) << running.interface;
        EXPECT_EQ(steps[0].kind, SyncStep::Kind::Stop);
        EXPECT_EQ(steps[1], (SyncStep{SyncStep::Kind::Start, sync_daemon(SyncRole::Master)}));
    }
}

TEST(PlanSync, NothingWantedStopsEverything) {
    auto steps = plan_sync({as_dumped(sync_daemon(SyncRole::Master)), as_dumped(sync_daemon(SyncRole::Backup))},
                           std::nullopt);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].kind, SyncStep::Kind::Stop);
    EXPECT_EQ(steps[1].kind, SyncStep::Kind::Stop);
    EXPECT_TRUE(plan_sync({}, std::nullopt).empty());
}
