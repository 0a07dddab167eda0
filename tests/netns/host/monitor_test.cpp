// host::Monitor against the real kernel, run inside a namespace of the lab (the test
// thread enters it for the test's duration): links and addresses appear, change and go
// as `ip` changes them; a burst that overflows a small receive buffer (ENOBUFS) is
// recovered by a full read, after which the view equals a fresh dump.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "host/monitor.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd;
using namespace lvsd::testing;
using namespace std::chrono_literals;

namespace {

IpAddress ip(const char* s) { return boost::asio::ip::make_address(s); }

// Runs the loop until `done` or 5 s.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(10ms);
    }
    return true;
}

bool has_address(const host::View& v, const std::string& link, const char* addr, uint8_t len) {
    const host::Link* l = v.link(link);
    if (!l) return false;
    for (const auto& a : v.addresses_of(l->index))
        if (a.prefix == Prefix{ip(addr), len}) return true;
    return false;
}

}  // namespace

TEST(HostMonitor, FollowsLinksAndAddressesOfBothFamilies) {
    Lab lab;
    lab.netns("h");
    lab.netns("peer");
    lab.veth("h", "eth0", "peer", "eth0");
    InNamespace inside(lab.netns_name("h"));
    boost::asio::io_context io;
    host::Monitor monitor(io);
    ASSERT_TRUE(monitor.start());
    int told = 0;
    auto sub = monitor.subscribe([&](const host::View&) { ++told; });
    const auto& v = monitor.view();
    ASSERT_NE(v.link("lo"), nullptr);
    ASSERT_NE(v.link("eth0"), nullptr);
    const int first_index = v.link("eth0")->index;

    lab.address("h", "eth0", "192.0.2.2/24");
    lab.address("h", "eth0", "2001:db8::2/64");
    ASSERT_TRUE(run_until(io, [&] {
        return has_address(v, "eth0", "192.0.2.2", 24) && has_address(v, "eth0", "2001:db8::2", 64) &&
               v.link("eth0")->up();
    }));
    EXPECT_GT(told, 0);
    EXPECT_TRUE(v.is_local(ip("192.0.2.2")));

    lab.ip("h", "addr add 192.0.2.10/24 dev eth0 label eth0:vip");
    ASSERT_TRUE(run_until(io, [&] { return has_address(v, "eth0", "192.0.2.10", 24); }));
    for (const auto& a : v.addresses_of(first_index))
        if (a.prefix.address == ip("192.0.2.10")) {
            EXPECT_EQ(a.label, "eth0:vip");
        }
    lab.ip("h", "addr del 192.0.2.10/24 dev eth0");
    ASSERT_TRUE(run_until(io, [&] { return !has_address(v, "eth0", "192.0.2.10", 24); }));

    // Down: IFF_RUNNING goes; renamed: found by the new name only.
    lab.ip("h", "link set eth0 down");
    ASSERT_TRUE(run_until(io, [&] { return !v.link("eth0")->up(); }));
    lab.ip("h", "link set eth0 name eth7");
    ASSERT_TRUE(run_until(io, [&] { return v.link("eth0") == nullptr && v.link("eth7") != nullptr; }));
    EXPECT_EQ(v.link("eth7")->index, first_index);

    // Deleted and created again under the old name: a new index, no old addresses.
    lab.ip("h", "link del eth7");
    ASSERT_TRUE(run_until(io, [&] { return v.link("eth7") == nullptr; }));
    EXPECT_TRUE(v.addresses_of(first_index).empty());
    lab.ip("h", "link add eth0 type veth peer name p0");
    ASSERT_TRUE(run_until(io, [&] { return v.link("eth0") != nullptr; }));
    EXPECT_NE(v.link("eth0")->index, first_index);

    // What the monitor followed equals a fresh read of the kernel.
    io.restart();
    io.run_for(50ms);
    auto fresh = host::read_view();
    ASSERT_TRUE(fresh);
    EXPECT_TRUE(*fresh == v);
    EXPECT_EQ(monitor.counters().malformed, 0u);
}

TEST(HostMonitor, LostNotificationsAreRecoveredByAFullRead) {
    Lab lab;
    lab.netns("h");
    lab.ip("h", "link add dum0 type veth peer name dum1");
    lab.ip("h", "link set dum0 up");
    lab.ip("h", "link set dum1 up");
    InNamespace inside(lab.netns_name("h"));
    boost::asio::io_context io;
    // The smallest buffer the kernel allows: a burst overflows it.
    host::Monitor monitor(io, 1);
    ASSERT_TRUE(monitor.start());
    // 400 addresses while the loop does not read: the socket overflows (ENOBUFS).
    std::string batch;
    for (int i = 0; i < 400; ++i) batch += "addr add 198.51.100." + std::to_string(i % 250 + 1) + "/" +
                                           std::to_string(i < 250 ? 32 : 31) + " dev dum0\n";
    auto r = lab.sh("h", "printf '" + batch + "' | ip -batch -");
    ASSERT_TRUE(r.ok()) << r.output;
    const auto& v = monitor.view();
    ASSERT_TRUE(run_until(io, [&] { return monitor.counters().resyncs > 0; }))
        << "no ENOBUFS resync; addresses seen: " << v.addresses().size();
    auto fresh = host::read_view();
    ASSERT_TRUE(fresh);
    ASSERT_TRUE(run_until(io, [&] { return *fresh == v; }));
    std::size_t v4 = 0;
    for (const auto& a : v.addresses_of(v.link("dum0")->index)) v4 += a.prefix.address.is_v4();
    EXPECT_EQ(v4, 400u);
}
