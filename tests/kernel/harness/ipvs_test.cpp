// Proves the kernel tier: inside the VM (tests/kernel/vm-run) the stock kernel's ip_vs
// loads, and a service and a destination made with ipvsadm read back with `ipvsadm -Ln`.
// The table is made inside a lab namespace (IPVS state is per network namespace), so it
// disappears with the namespace even when an assertion fails half-way.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;

namespace {

bool module_loaded(const std::string& name) {
    std::ifstream modules("/proc/modules");
    for (std::string line; std::getline(modules, line);)
        if (line.starts_with(name + " ")) return true;
    return false;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out.push_back(l);
    }
    return out;
}

}  // namespace

TEST(KernelHarness, IpVsLoads) {
    auto r = lt::run({"modprobe", "ip_vs"});
    ASSERT_TRUE(r.ok()) << "modprobe ip_vs: " << r.output
                        << "\n(kernel-tier tests run inside tests/kernel/vm-run, not on the host)";
    EXPECT_TRUE(module_loaded("ip_vs"));
    std::ifstream proc("/proc/net/ip_vs");
    EXPECT_TRUE(proc.good()) << "/proc/net/ip_vs is missing although ip_vs is loaded";
}

TEST(KernelHarness, IpvsadmServiceAndDestinationReadBack) {
    lt::Lab lab;
    lab.netns("lb");
    lab.must("lb", {"ipvsadm", "-A", "-t", "192.0.2.10:80", "-s", "wrr"});
    lab.must("lb", {"ipvsadm", "-a", "-t", "192.0.2.10:80", "-r", "198.51.100.2:8080", "-m", "-w", "3"});
    lab.must("lb", {"ipvsadm", "-A", "-u", "[2001:db8::10]:53", "-s", "rr"});
    lab.must("lb", {"ipvsadm", "-a", "-u", "[2001:db8::10]:53", "-r", "[2001:db8::2]:53", "-g"});

    auto table = lines(lab.must("lb", {"ipvsadm", "-Ln"}));
    std::vector<std::string> want{
        "TCP  192.0.2.10:80 wrr",
        "  -> 198.51.100.2:8080            Masq    3      0          0",
        "UDP  [2001:db8::10]:53 rr",
        "  -> [2001:db8::2]:53             Route   1      0          0",
    };
    // Skip the three header lines ("IP Virtual Server version ...", column titles).
    ASSERT_GE(table.size(), 3u);
    std::vector<std::string> got(table.begin() + 3, table.end());
    EXPECT_EQ(got, want);
    // The weighted scheduler was autoloaded on demand through the VM's modprobe hook.
    EXPECT_TRUE(module_loaded("ip_vs_wrr"));

    // The namespace's table is its own: the VM's root table stays empty.
    auto root = lines(lt::run({"ipvsadm", "-Ln"}).output);
    EXPECT_EQ(root.size(), 3u) << "root IPVS table not empty";

    lab.must("lb", {"ipvsadm", "-D", "-t", "192.0.2.10:80"});
    lab.must("lb", {"ipvsadm", "-C"});
    EXPECT_EQ(lines(lab.must("lb", {"ipvsadm", "-Ln"})).size(), 3u);
}
