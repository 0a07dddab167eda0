// The Reconciler against a fake kernel that keeps a table and answers like IPVS does
// (EEXIST for a duplicate, ESRCH for a missing service, ...), so that adoption, retries
// and ownership are checked against the kernel's rules, not just recorded.
#include <cerrno>
#include <functional>
#include <map>

#include <gtest/gtest.h>

#include "helpers.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

namespace {

class FakeKernel final : public Backend {
public:
    Table table;
    std::vector<Op> log;  // every op the reconciler sent
    int dumps = 0;
    bool fail_dump = false;
    // Errno to fail an op with before the table is consulted; 0: behave normally.
    std::function<int(const Op&)> inject = [](const Op&) { return 0; };

    Result<Table> dump() override {
        ++dumps;
        if (fail_dump) return make_error(EPERM, "dump IPVS services: Operation not permitted (EPERM)");
        return table;
    }

    std::vector<Result<void>> apply(std::span<const Op> ops) override {
        std::vector<Result<void>> out;
        for (const auto& op : ops) {
            log.push_back(op);
            int err = inject(op);
            if (!err) err = check(op);
            if (err) {
                out.push_back(make_error(err, "{}: errno {}", op, err));
                continue;
            }
            apply_to(table, op);
            out.emplace_back();
        }
        return out;
    }

private:
    int check(const Op& op) const {
        auto svc = table.find(op.service.key);
        switch (op.kind) {
            case OpKind::AddService: return svc != table.end() ? EEXIST : 0;
            case OpKind::EditService:
            case OpKind::DeleteService: return svc == table.end() ? ESRCH : 0;
            default: break;
        }
        if (svc == table.end()) return ESRCH;
        const bool has = svc->second.destinations.contains(op.destination.key);
        if (op.kind == OpKind::AddDestination) return has ? EEXIST : 0;
        return has ? 0 : ENOENT;
    }
};

Table reference() {
    Table t;
    put(t, tcp_service("192.0.2.10", 8080, "wlc"),
        {dest("198.51.100.1", 8080), dest("198.51.100.2", 8080)});
    return t;
}

const ServiceKey kRef = ServiceKey::endpoint(Protocol::Tcp, *parse_address("192.0.2.10"), 8080);

}  // namespace

TEST(Reconciler, ProgramsAnEmptyKernelThenSendsNothing) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok());
    EXPECT_EQ(rep->ops_sent, 3u);
    EXPECT_EQ(k.table, reference());
    EXPECT_EQ(r.kernel(), reference());
    EXPECT_TRUE(r.owned().contains(kRef));

    k.log.clear();
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_planned, 0u);
    EXPECT_EQ(rep->ops_sent, 0u);
    EXPECT_TRUE(k.log.empty());
    EXPECT_EQ(k.dumps, 2);
}

TEST(Reconciler, AdoptsExistingServicesInsteadOfFailingWithEexist) {
    FakeKernel k;
    k.table = reference();
    k.table.begin()->second.service.scheduler = "rr";  // an earlier lvsd, older config
    Reconciler r(k);
    r.set_desired(reference());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok()) << rep->errors.front().message;
    ASSERT_EQ(k.log.size(), 1u);
    EXPECT_EQ(k.log[0].kind, OpKind::EditService);
    EXPECT_EQ(k.table, reference());
    EXPECT_TRUE(r.owned().contains(kRef));
}

TEST(Reconciler, OneWeightChangeSendsOneEdit) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    ASSERT_TRUE(r.reconcile().ok());
    k.log.clear();
    Table want = reference();
    want.begin()->second.destinations.begin()->second.weight = 0;
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 1u);
    ASSERT_EQ(k.log.size(), 1u);
    EXPECT_EQ(k.log[0].kind, OpKind::EditDestination);
    EXPECT_EQ(k.table, want);
    ASSERT_EQ(rep->applied.size(), 1u);
    EXPECT_EQ(rep->applied[0], k.log[0]);
}

TEST(Reconciler, FailedOpIsReportedNotBelievedAndRetriedNextRun) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    int failures = 1;
    k.inject = [&](const Op& op) {
        if (op.kind == OpKind::AddDestination && op.destination.key.address == ip("198.51.100.2") &&
            failures-- > 0)
            return ENOMEM;
        return 0;
    };
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_failed, 1u);
    ASSERT_EQ(rep->errors.size(), 1u);
    EXPECT_EQ(rep->errors[0].code, ENOMEM);
    EXPECT_EQ(rep->errors[0].message,
              fmt::format("add destination 198.51.100.2:8080 to 192.0.2.10:8080/tcp: errno {}", ENOMEM));
    // The cache holds only what was acknowledged.
    EXPECT_EQ(r.kernel().at(kRef).destinations.size(), 1u);
    EXPECT_EQ(rep->applied.size(), 2u);  // the service and the other destination

    k.log.clear();
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok());
    ASSERT_EQ(k.log.size(), 1u);
    EXPECT_EQ(fmt::format("{}", k.log[0]), "add destination 198.51.100.2:8080 to 192.0.2.10:8080/tcp");
    EXPECT_EQ(k.table, reference());
    EXPECT_EQ(r.kernel(), reference());
}

TEST(Reconciler, FailedServiceAddSkipsItsDestinationsAndIsNotOwned) {
    FakeKernel k;
    Reconciler r(k);
    Table want = reference();
    want.begin()->second.service.scheduler = "xyz";
    k.inject = [](const Op& op) {
        return op.kind == OpKind::AddService && op.service.scheduler == "xyz" ? ENOENT : 0;
    };
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_planned, 3u);
    EXPECT_EQ(rep->ops_sent, 1u);  // the destinations would only fail with ESRCH
    EXPECT_EQ(rep->errors.size(), 1u);
    EXPECT_FALSE(r.owned().contains(kRef));
    EXPECT_TRUE(k.table.empty());

    // The operator fixes the config: now it goes through.
    r.set_desired(reference());
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok());
    EXPECT_EQ(k.table, reference());
}

TEST(Reconciler, RestoresATableFlushedBehindItsBack) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    ASSERT_TRUE(r.reconcile().ok());
    k.table.clear();  // ipvsadm -C
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 3u);
    EXPECT_EQ(k.table, reference());
}

TEST(Reconciler, DeletesWhatItOwnedAfterAReloadButNeverForeignServices) {
    FakeKernel k;
    const Service foreign = tcp_service("203.0.113.5", 443, "rr");
    put(k.table, foreign, {dest("203.0.113.6", 443)});
    Reconciler r(k);
    Table first = reference();
    put(first, tcp_service("192.0.2.11", 80), {dest("198.51.100.9", 80)});
    r.set_desired(first);
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_EQ(k.table.size(), 3u);

    // Reload without 192.0.2.11: lvsd made it, so it goes; the foreign one stays.
    r.set_desired(reference());
    k.log.clear();
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    ASSERT_EQ(k.log.size(), 1u);
    EXPECT_EQ(fmt::format("{}", k.log[0]), "delete service 192.0.2.11:80/tcp");
    EXPECT_TRUE(k.table.contains(foreign.key));
    EXPECT_FALSE(r.owned().contains(tcp_service("192.0.2.11", 80).key));

    // An empty config removes lvsd's services only.
    r.set_desired({});
    ASSERT_TRUE(r.reconcile().ok());
    ASSERT_EQ(k.table.size(), 1u);
    EXPECT_TRUE(k.table.contains(foreign.key));
    EXPECT_TRUE(r.owned().empty());
}

TEST(Reconciler, ServiceNeverCreatedIsNotDeletedWhenDroppedFromConfig) {
    // Desired once but never in the kernel (its add failed), then dropped from the
    // config; meanwhile an operator made one with the same key: it is theirs.
    FakeKernel k;
    Reconciler r(k);
    k.inject = [](const Op& op) { return op.kind == OpKind::AddService ? EPERM : 0; };
    r.set_desired(reference());
    ASSERT_TRUE(r.reconcile().ok());
    k.inject = [](const Op&) { return 0; };
    put(k.table, tcp_service("192.0.2.10", 8080, "rr"), {});
    r.set_desired({});
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_planned, 0u);
    EXPECT_TRUE(k.table.contains(kRef));
}

TEST(Reconciler, DumpFailureIsAnErrorAndChangesNothing) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    k.fail_dump = true;
    auto rep = r.reconcile();
    ASSERT_FALSE(rep.ok());
    EXPECT_EQ(rep.error().code, EPERM);
    EXPECT_TRUE(k.log.empty());
    EXPECT_TRUE(r.owned().empty());
}

TEST(Reconciler, Ipv6AndFwmarkServicesRoundTheLoop) {
    FakeKernel k;
    Reconciler r(k);
    Table want;
    Service fw = fwmark_service(7, Family::V6, "sh");
    fw.flags = flag::kShFallback | flag::kShPort;
    put(want, fw, {dest("2001:db8::1", 0), dest("2001:db8::2", 0)});
    put(want, tcp_service("2001:db8::10", 443, "mh"), {dest("2001:db8::3", 443)});
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 5u);
    EXPECT_EQ(k.table, want);
    k.log.clear();
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_TRUE(k.log.empty());
}

TEST(Reconciler, OwnershipEndsWhenTheServiceIsGoneAndNotDesired) {
    FakeKernel k;
    Reconciler r(k);
    r.set_desired(reference());
    ASSERT_TRUE(r.reconcile().ok());
    r.set_desired({});
    k.table.clear();  // deleted by hand before lvsd got to it
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_TRUE(r.owned().empty());
    // Later an operator makes a service with the same key: it is theirs now.
    put(k.table, tcp_service("192.0.2.10", 8080, "rr"), {});
    k.log.clear();
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_TRUE(k.log.empty());
    EXPECT_TRUE(k.table.contains(kRef));
}

TEST(Reconciler, AdoptedOwnershipFromAnEarlierRunDeletesWhatTheConfigDropped) {
    // lvsd ran with 192.0.2.11 too, stopped (the table stays), the file lost that
    // service, lvsd starts again: the state file says it was lvsd's, so it goes; a
    // service nobody wrote down stays, and a recorded key no longer in the kernel is
    // forgotten.
    FakeKernel k;
    const Service dropped = tcp_service("192.0.2.11", 80);
    const Service foreign = tcp_service("203.0.113.5", 443, "rr");
    put(k.table, dropped, {dest("198.51.100.9", 80)});
    put(k.table, foreign, {dest("203.0.113.6", 443)});
    Reconciler r(k);
    r.adopt({dropped.key, tcp_service("192.0.2.12", 80).key});
    r.set_desired(reference());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_FALSE(k.table.contains(dropped.key));
    EXPECT_TRUE(k.table.contains(foreign.key));
    EXPECT_TRUE(k.table.contains(kRef));
    EXPECT_EQ(r.owned(), (std::set<ServiceKey>{kRef}));
}
