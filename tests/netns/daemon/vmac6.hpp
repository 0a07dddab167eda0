// Shared by vmac6_test.cpp and vmac6_interop_test.cpp: keepalived's use_vmac for an IPv6
// instance (VRID 51, VIP 2001:db8::10/64) on the pair of host_follow.hpp, with a client c
// on the same bridge whose eth0 is watched by tcpdump, and readers for what it saw.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include "host_follow.hpp"

namespace lvsd::testing::vmac6 {

using namespace lvsd::testing::hostfollow;

inline constexpr const char* kVmac = "vrrp.51";
inline constexpr const char* kMac = "00:00:5e:00:02:33";  // RFC 5798 §7.3, IPv6, VRID 51
inline constexpr const char* kVip = "2001:db8::10";

// One packet as tcpdump -e -vv printed it: its first line and the indented lines below.
inline std::vector<std::string> packets(const std::string& dump) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < dump.size()) {
        auto end = dump.find('\n', at);
        if (end == std::string::npos) end = dump.size();
        const std::string line = dump.substr(at, end - at);
        at = end + 1;
        if (line.empty()) continue;
        if (line[0] == ' ' || line[0] == '\t') {
            if (!out.empty()) out.back() += "\n" + line;
        } else {
            out.push_back(line);
        }
    }
    return out;
}

inline bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// Neighbour adverts for the VIP (solicited or not) in `dump`.
inline std::vector<std::string> adverts_for_vip(const std::string& dump, bool solicited) {
    std::vector<std::string> out;
    for (auto& p : packets(dump))
        if (has(p, "neighbor advertisement") && has(p, std::string("tgt is ") + kVip + ",") &&
            has(p, "solicited") == solicited)
            out.push_back(p);
    return out;
}

// The VRRP adverts in `dump` (tcpdump names them "VRRPv3, Advertisement").
inline std::vector<std::string> vrrp_adverts(const std::string& dump) {
    std::vector<std::string> out;
    for (auto& p : packets(dump))
        if (has(p, "VRRPv3, Advertisement")) out.push_back(p);
    return out;
}

// The IPv6 source of a packet line "... (hlim ...) SRC > DST: ...".
inline std::string ip6_source(const std::string& packet) {
    std::smatch m;
    static const std::regex src(R"(\) ([0-9a-f:]+) > [0-9a-f:]+: )");
    return std::regex_search(packet, m, src) ? std::string(m[1]) : "";
}
// The Ethernet source (tcpdump -e: "TIME SRC > DST, ethertype ...").
inline std::string ether_source(const std::string& packet) {
    std::smatch m;
    static const std::regex src(R"(^\S+ ([0-9a-f:]{17}) > )");
    return std::regex_search(packet, m, src) ? std::string(m[1]) : "";
}

class Vmac6Test : public PairTest {
protected:
    void SetUp() override {
        PairTest::SetUp();
        lab_.address("a", "eth0", "2001:db8::2/64");
        lab_.address("b", "eth0", "2001:db8::3/64");
        lab_.netns("c");
        lab_.veth("c", "eth0", "sw", "cp");
        lab_.enslave("sw", "cp", "br0");
        lab_.address("c", "eth0", "2001:db8::100/64");
    }
    void TearDown() override {
        if (dump_.pid() > 0) dump_.stop();
        PairTest::TearDown();
    }

    static VrrpConf v6(VrrpConf c) {
        c.vips = {std::string(kVip) + "/64"};
        c.instance_extra = "    use_vmac = true;\n";
        return c;
    }
    // Starts tcpdump on the client's eth0 (NDP and VRRP, with link-layer headers and the
    // NDP options) and waits until it listens.
    void capture() {
        dump_ = lab_.spawn("c", {"tcpdump", "-i", "eth0", "-nn", "-e", "-l", "-vv", "icmp6 or ip6 proto 112"});
        ASSERT_TRUE(wait_until([&] { return has(dump_.output(), "listening on"); }, 5s)) << dump_.output();
    }
    std::string seen(std::size_t from = 0) const {
        const auto s = dump_.output();
        return from < s.size() ? s.substr(from) : "";
    }
    bool has_vip6(const std::string& ns, const std::string& dev = kVmac) const {
        return has(addrs(ns, dev), std::string("inet6 ") + kVip + "/64 ");
    }
    // The link-local addresses of `dev` in `ns`, "fe80::.../64" each.
    std::vector<std::string> link_locals(const std::string& ns, const std::string& dev) const {
        std::vector<std::string> out;
        const auto text = addrs(ns, dev);
        static const std::regex ll(R"(inet6 (fe80:[0-9a-f:]*/[0-9]+) )");
        for (std::sregex_iterator it(text.begin(), text.end(), ll), end; it != end; ++it) out.push_back((*it)[1]);
        return out;
    }
    static std::string bare(const std::string& prefix) { return prefix.substr(0, prefix.find('/')); }
    // The MAC the client has for the VIP after reaching it ("" when it cannot).
    std::string client_sees() {
        lab_.exec("c", {"ip", "-6", "neigh", "flush", "dev", "eth0"});
        if (!lab_.exec("c", {"ping", "-6", "-c", "1", "-W", "1", kVip}).ok()) return "";
        return lab_.exec("c", {"ip", "-6", "neigh", "show", kVip, "dev", "eth0"}).output;
    }

    Process dump_;
};

}  // namespace lvsd::testing::vmac6
