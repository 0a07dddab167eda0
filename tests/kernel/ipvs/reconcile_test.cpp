// The Reconciler driving the real kernel through the Client: adoption, self-healing after
// `ipvsadm -C`, foreign services left alone, and a 1,000 x 10 table.
#include <chrono>

#include <fmt/ranges.h>

#include "fixture.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

namespace {

Table reference() {
    Table t;
    put(t, tcp_service("192.0.2.10", 8080, "wlc"),
        {dest("198.51.100.1", 8080), dest("198.51.100.2", 8080)});
    Service v6 = tcp_service("2001:db8::10", 8080, "mh");
    v6.flags = flag::kMhPort;
    put(t, v6, {dest("2001:db8::1", 8080), dest("2001:db8::2", 8080, 2)});
    put(t, fwmark_service(7), {dest("198.51.100.7", 0, 1, Forwarding::Tunnel)});
    return t;
}

// N services x M destinations in the documentation ranges.
Table big(int services, int destinations) {
    Table t;
    for (int s = 0; s < services; ++s) {
        Service svc = tcp_service(fmt::format("203.0.113.{}", s % 250 + 1).c_str(),
                                  static_cast<uint16_t>(10000 + s / 250), "wrr");
        std::vector<Destination> ds;
        for (int d = 0; d < destinations; ++d)
            ds.push_back(dest(fmt::format("198.51.100.{}", d + 1).c_str(), 8080,
                              static_cast<uint32_t>(d % 5 + 1)));
        put(t, svc, ds);
    }
    return t;
}

}  // namespace

TEST_F(IpvsKernel, ReconcileProgramsThenSendsNothing) {
    Reconciler r(*client_);
    r.set_desired(reference());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok()) << rep.error().message;
    ASSERT_TRUE(rep->ok()) << rep->errors.front().message;
    EXPECT_EQ(rep->ops_sent, 8u);
    EXPECT_TRUE(same_table(reference(), ipvsadm_table()));
    EXPECT_EQ(r.kernel(), client_table());

    const uint64_t before = client_->requests_sent();
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 0u);
    // Only dump requests went out: one for the services, one per service's destinations.
    EXPECT_EQ(client_->requests_sent() - before, 1u + reference().size());
}

TEST_F(IpvsKernel, ReconcileAdoptsWhatAnEarlierRunLeft) {
    ipvsadm({"-A", "-t", "192.0.2.10:8080", "-s", "rr"});
    ipvsadm({"-a", "-t", "192.0.2.10:8080", "-r", "198.51.100.1:8080", "-g", "-w", "7"});
    Reconciler r(*client_);
    r.set_desired(reference());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok()) << rep.error().message;
    ASSERT_TRUE(rep->ok()) << rep->errors.front().message;  // no EEXIST
    // Edit the scheduler, edit the weight, add the other destination; then add the v6
    // service with its two destinations and the fwmark service with its one.
    EXPECT_EQ(rep->ops_sent, 3u + 3u + 2u);
    EXPECT_TRUE(same_table(reference(), ipvsadm_table()));
    EXPECT_TRUE(r.owned().contains(tcp_service("192.0.2.10", 8080).key));
}

TEST_F(IpvsKernel, ReconcileUndoesIpvsadmFlush) {
    Reconciler r(*client_);
    r.set_desired(reference());
    ASSERT_TRUE(r.reconcile().ok());
    ipvsadm({"-C"});
    EXPECT_TRUE(ipvsadm_table().empty());
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok());
    EXPECT_EQ(rep->ops_sent, 8u);
    EXPECT_TRUE(same_table(reference(), ipvsadm_table()));

    // Half a flush: one destination removed and a weight changed by hand.
    ipvsadm({"-d", "-t", "192.0.2.10:8080", "-r", "198.51.100.2:8080"});
    ipvsadm({"-e", "-t", "[2001:db8::10]:8080", "-r", "[2001:db8::1]:8080", "-g", "-w", "9"});
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 2u);
    EXPECT_TRUE(same_table(reference(), ipvsadm_table()));
}

TEST_F(IpvsKernel, ForeignServiceSurvivesEveryReconcile) {
    ipvsadm({"-A", "-t", "203.0.113.5:443", "-s", "rr"});
    ipvsadm({"-a", "-t", "203.0.113.5:443", "-r", "203.0.113.6:443", "-m", "-w", "3"});
    ipvsadm({"-A", "-f", "99", "-s", "sh"});
    auto foreign_lines = [&] {
        std::vector<std::string> out;
        std::istringstream in(ipvsadm({"-Sn"}));
        for (std::string l; std::getline(in, l);)
            if (l.find("203.0.113.5:443") != std::string::npos || l.find("-f 99") != std::string::npos)
                out.push_back(l);
        return out;
    };
    const auto foreign = foreign_lines();
    ASSERT_EQ(foreign.size(), 3u);

    Reconciler r(*client_);
    Table want = reference();
    r.set_desired(want);
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_EQ(foreign_lines(), foreign);

    want.begin()->second.destinations.begin()->second.weight = 0;
    want.erase(ServiceKey::mark(7));
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 2u);  // one weight edit, one owned service deleted
    EXPECT_EQ(foreign_lines(), foreign);

    r.set_desired({});
    ASSERT_TRUE(r.reconcile().ok());
    EXPECT_EQ(foreign_lines(), foreign);
    auto left = ipvsadm_table();
    EXPECT_EQ(left.size(), 2u);  // only the foreign ones
}

TEST_F(IpvsKernel, ThousandServicesTimesTenProgramDumpAndReconcileToNoOp) {
    const Table want = big(1000, 10);
    Reconciler r(*client_);
    r.set_desired(want);
    auto t0 = std::chrono::steady_clock::now();
    auto rep = r.reconcile();
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(rep.ok()) << rep.error().message;
    ASSERT_TRUE(rep->ok()) << rep->errors.size() << " errors, first: " << rep->errors.front().message;
    EXPECT_EQ(rep->ops_sent, 11000u);
    std::cout << "[ info ] 1000x10 from empty: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count() << " ms\n";

    EXPECT_TRUE(same_table(want, client_table()));
    const Table listed = ipvsadm_table();
    EXPECT_EQ(listed.size(), 1000u);
    std::size_t dests = 0;
    for (const auto& [_, vs] : listed) dests += vs.destinations.size();
    EXPECT_EQ(dests, 10000u);
    EXPECT_TRUE(same_table(want, listed));

    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_planned, 0u);
    EXPECT_EQ(rep->ops_sent, 0u);

    Table one = want;
    std::next(one.begin(), 777)->second.destinations.begin()->second.weight = 42;
    r.set_desired(one);
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok());
    EXPECT_EQ(rep->ops_sent, 1u);
    EXPECT_TRUE(same_table(one, client_table()));
}
