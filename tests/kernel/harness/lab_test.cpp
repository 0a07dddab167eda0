// Proves that the namespace lab works inside the VM as on the host, and that the VM's
// module hook loads what the data-path tests need on demand (veth, bridge, nf_tables).
// Inside the VM the root namespace is the test's own, so a veth end may live there.
#include <gtest/gtest.h>

#include <fstream>

#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using namespace std::chrono_literals;

namespace {

bool module_loaded(const std::string& name) {
    std::ifstream modules("/proc/modules");
    for (std::string line; std::getline(modules, line);)
        if (line.starts_with(name + " ")) return true;
    return false;
}

}  // namespace

TEST(KernelHarnessLab, BridgeAndRootNamespaceVethCarryTrafficAndAutoloadModules) {
    std::string root_end;
    {
        lt::Lab lab;
        lab.netns("a");
        lab.netns("sw");
        lab.bridge("sw", "br0");
        lab.veth("a", "eth0", "sw", "pa");
        lab.veth("", "c0", "sw", "pc");  // the client end stays in the VM's root namespace
        root_end = lab.current_if("c0");
        lab.enslave("sw", "pa", "br0");
        lab.enslave("sw", "pc", "br0");
        lab.address("a", "eth0", "203.0.113.1/24");
        lab.address("a", "eth0", "2001:db8:1::1/64");
        lab.address("", "c0", "203.0.113.2/24");
        lab.address("", "c0", "2001:db8:1::2/64");

        EXPECT_TRUE(module_loaded("veth"));
        EXPECT_TRUE(module_loaded("bridge"));
        for (const char* to : {"203.0.113.1", "2001:db8:1::1"}) {
            auto r = lt::run({"ping", "-c", "1", "-W", "2", to});
            EXPECT_TRUE(r.ok()) << "root -> " << to << ": " << r.output;
        }
        auto back = lab.exec("a", {"ping", "-c", "1", "-W", "2", "203.0.113.2"});
        EXPECT_TRUE(back.ok()) << back.output;

        lab.must("a", {"nft", "add", "table", "inet", "lvt"});
        EXPECT_TRUE(module_loaded("nf_tables"));
        EXPECT_TRUE(lab.teardown().empty());
    }
    EXPECT_TRUE(lt::Lab::lab_namespaces().empty());
    EXPECT_TRUE(lt::Lab::lab_links().empty()) << "left behind: " << root_end;
}
