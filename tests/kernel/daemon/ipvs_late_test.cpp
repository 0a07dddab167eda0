// IPVS missing at start and there later (issue #16, faults): ip_vs is unloaded and the
// kernel's module loader pointed at a program that does not exist, so lvsd's request for
// the IPVS family finds nothing. lvsd says so once, starts nothing (no VIP on this node),
// and keeps asking; once loading works again it starts by itself, without a restart,
// and programs the table.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
const char* kModprobe = "/proc/sys/kernel/modprobe";

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The loaded IPVS modules, the core last (the schedulers depend on it).
std::vector<std::string> ipvs_modules() {
    std::vector<std::string> out;
    std::istringstream in(slurp("/proc/modules"));
    bool core = false;
    for (std::string line; std::getline(in, line);) {
        const auto name = line.substr(0, line.find(' '));
        if (name == "ip_vs")
            core = true;
        else if (name.rfind("ip_vs_", 0) == 0)
            out.push_back(name);
    }
    if (core) out.push_back("ip_vs");
    return out;
}

// Points the kernel's module loader elsewhere for the test's life, and back.
class NoModuleLoading {
public:
    NoModuleLoading() : saved_(slurp(kModprobe)) { set("/nonexistent/lvsd-test-no-modprobe\n"); }
    ~NoModuleLoading() { restore(); }
    void restore() {
        if (!saved_.empty()) set(saved_);
        saved_.clear();
    }

private:
    static void set(const std::string& text) { std::ofstream(kModprobe) << text; }
    std::string saved_;
};

}  // namespace

TEST(IpvsLate, MissingAtStartThenLoadedStartsWithoutARestart) {
    // The lab first: bridge and veth are modules loaded on demand too.
    Lab lab;
    lab.netns("lb");
    lab.netns("sw");
    lab.bridge("sw", "br0");
    lab.veth("lb", "eth0", "sw", "lb0");
    lab.enslave("sw", "lb0", "br0");
    lab.address("lb", "eth0", "192.0.2.2/24");

    NoModuleLoading no_loading;
    for (const auto& m : ipvs_modules()) {
        auto r = run({"rmmod", m});
        ASSERT_EQ(r.status, 0) << "cannot unload " << m << ": " << r.output;
    }
    struct stat st {};
    ASSERT_NE(::stat("/proc/net/ip_vs", &st), 0) << "ip_vs is still loaded";
    const std::string dir = "/tmp/" + lab.prefix() + "late";
    ::mkdir(dir.c_str(), 0700);
    const std::string conf = dir + "/lvsd.conf", sock = dir + "/ctl.sock";
    {
        std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/etc/lvsd.conf");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        text = std::regex_replace(text, std::regex("/run/lvsd/lvsd.sock"), sock);
        text = std::regex_replace(text, std::regex("192\\.168\\.100\\."), "192.0.2.");
        std::ofstream(conf) << text;
    }
    auto status = [&] { return lab.exec("lb", {kLvsctl, "-s", sock, "status"}).output; };
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until([&] { return status().find("waiting for it") != std::string::npos; }, 30s))
        << status() << lvsd.output();
    // Two retries pass: still waiting, said once, nothing started.
    std::this_thread::sleep_for(11s);
    const std::string message = "IPVS is not available in this kernel: modprobe ip_vs; lvsd waits for it";
    auto log = lvsd.output();
    ASSERT_NE(log.find(message), std::string::npos) << log;
    EXPECT_EQ(log.find(message, log.find(message) + 1), std::string::npos) << "said more than once:\n" << log;
    EXPECT_TRUE(lvsd.running());
    EXPECT_EQ(lab.exec("lb", {"ip", "-4", "addr", "show", "dev", "eth0"}).output.find("192.0.2.10"),
              std::string::npos)
        << "a VIP was taken without IPVS";

    // Loading works again: the next retry (at most 5 s) loads ip_vs and starts; loading
    // from 9p under TCG takes seconds of its own.
    no_loading.restore();
    ASSERT_TRUE(wait_until([&] { return status().find("generation 1") != std::string::npos &&
                                        status().find("waiting for it") == std::string::npos; },
                           40s))
        << status() << lvsd.output();
    EXPECT_NE(lvsd.output().find("IPVS is available now; starting"), std::string::npos) << lvsd.output();
    auto table = lab.exec("lb", {"ipvsadm", "-Ln"});
    EXPECT_TRUE(wait_until([&] { return (table = lab.exec("lb", {"ipvsadm", "-Ln"})).output.find("192.0.2.10:8080") !=
                                        std::string::npos; },
                           10s))
        << table.output << lvsd.output();

    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 10s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    run({"rm", "-rf", dir});
}
