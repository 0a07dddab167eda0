// Kernel-tier fixture for the IPVS client: each test gets a fresh network namespace
// (IPVS tables are per namespace), the test process enters it so that the Client's
// netlink socket talks to that namespace's table, and ipvsadm runs in it to cross-check.
// The namespace, and with it the table, goes away after the test, also when it fails.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <fmt/ranges.h>

#include "../../unit/ipvs/helpers.hpp"
#include "ipvs/client.hpp"
#include "support/netns_lab.hpp"

namespace lvsd::ipvs::test {

namespace lt = lvsd::testing;

// Runs `fn` with the calling thread in namespace `full_name` (a /run/netns entry);
// sockets made inside keep that namespace.
template <class F>
auto in_netns(const std::string& full_name, F&& fn) {
    lt::InNamespace in(full_name);
    return fn();
}

// ---- ipvsadm output, parsed independently of the Client ------------------------------

inline std::vector<std::string> split(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string t; in >> t;) out.push_back(t);
    return out;
}

// "192.0.2.1:80", "[2001:db8::1]:80"
inline DestinationKey parse_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    std::string addr = text.substr(0, colon);
    if (addr.size() > 2 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
    auto a = parse_address(addr);
    if (!a) throw std::runtime_error("ipvsadm endpoint: " + text);
    return {*a, static_cast<uint16_t>(std::stoul(text.substr(colon + 1)))};
}

inline Forwarding parse_forward(const std::string& text) {
    if (text == "Route") return Forwarding::DirectRoute;
    if (text == "Masq") return Forwarding::Nat;
    if (text == "Tunnel") return Forwarding::Tunnel;
    if (text == "Local") return Forwarding::Local;
    throw std::runtime_error("ipvsadm forward: " + text);
}

inline uint8_t mask_to_prefix(const std::string& text, Family f) {
    if (f == Family::V6) return static_cast<uint8_t>(std::stoul(text));
    auto a = parse_address(text);
    if (!a || !a->is_v4()) throw std::runtime_error("ipvsadm mask: " + text);
    return static_cast<uint8_t>(std::popcount(a->to_v4().to_uint()));
}

// Parses `ipvsadm -Ln` (and, when given, `ipvsadm -Ln --thresholds` for the thresholds).
// Tunnel type/port are not in this listing; tests that need them read `ipvsadm -Sn`.
inline Table parse_ipvsadm(const std::string& list, const std::string& thresholds = {}) {
    Table table;
    auto read = [&](const std::string& text, bool thr) {
        std::istringstream in(text);
        ServiceKey current;
        bool have = false;
        for (std::string line; std::getline(in, line);) {
            auto t = split(line);
            if (t.empty() || t[0] == "IP" || t[0] == "Prot") continue;
            if (t[0] == "->") {
                if (t[1] == "RemoteAddress:Port") continue;
                if (!have) throw std::runtime_error("ipvsadm: destination before a service: " + line);
                auto key = parse_endpoint(t[1]);
                auto& vs = table.at(current);
                if (thr) {
                    auto& d = vs.destinations.at(key);
                    d.upper_threshold = static_cast<uint32_t>(std::stoul(t[2]));
                    d.lower_threshold = static_cast<uint32_t>(std::stoul(t[3]));
                } else {
                    Destination d;
                    d.key = key;
                    d.forwarding = parse_forward(t[2]);
                    d.weight = static_cast<uint32_t>(std::stoul(t[3]));
                    vs.destinations[key] = d;
                }
                continue;
            }
            Service s;
            std::size_t i = 2;
            if (t[0] == "FWM") {
                Family f = Family::V4;
                if (t.size() > 2 && t[2] == "IPv6") {
                    f = Family::V6;
                    i = 3;
                }
                s.key = ServiceKey::mark(static_cast<uint32_t>(std::stoul(t[1])), f);
            } else {
                auto proto = t[0] == "TCP" ? Protocol::Tcp : t[0] == "UDP" ? Protocol::Udp : Protocol::Sctp;
                auto ep = parse_endpoint(t[1]);
                s.key = ServiceKey::endpoint(proto, ep.address, ep.port);
            }
            current = s.key;
            have = true;
            if (thr) continue;
            s.scheduler = t.at(i++);
            for (; i < t.size(); ++i) {
                const auto& w = t[i];
                if (w.front() == '(') {
                    std::string inner = w.substr(1, w.size() - 2);
                    std::istringstream fl(inner);
                    for (std::string f; std::getline(fl, f, ',');) {
                        if (f.ends_with("fallback") || f == "flag-1") s.flags |= flag::kSched1;
                        else if (f.ends_with("port") || f == "flag-2") s.flags |= flag::kSched2;
                        else if (f == "flag-3") s.flags |= flag::kSched3;
                        else throw std::runtime_error("ipvsadm flag: " + f);
                    }
                } else if (w == "ops") {
                    s.flags |= flag::kOnePacket;
                } else if (w == "persistent") {
                    s.persistence_timeout = static_cast<uint32_t>(std::stoul(t.at(++i)));
                } else if (w == "mask") {
                    s.persistence_prefix = mask_to_prefix(t.at(++i), s.key.family);
                } else if (w == "pe") {
                    s.persistence_engine = t.at(++i);
                } else {
                    throw std::runtime_error("ipvsadm service word '" + w + "' in: " + line);
                }
            }
            table[s.key].service = s;
        }
    };
    read(list, false);
    if (!thresholds.empty()) read(thresholds, true);
    return table;
}

// Checks two tables are the same configuration (the kernel's way of reading defaults),
// with a readable difference when they are not.
inline ::testing::AssertionResult same_table(const Table& want, const Table& got) {
    auto ops = diff(want, got, {});
    for (const auto& [k, _] : got)
        if (!want.contains(k)) ops.push_back(delete_service(k));
    if (ops.empty()) return ::testing::AssertionSuccess();
    auto r = ::testing::AssertionFailure() << ops.size() << " differences:";
    for (std::size_t i = 0; i < ops.size() && i < 10; ++i) r << "\n  " << fmt::format("{}", ops[i]);
    return r;
}

// `ipvsadm -Ln` shows the forwarding method but not a tunnel's type, port or flags:
// compare against it with those reset (the Client's dump and `-Sn` cover them).
inline Table without_tunnel_details(Table t) {
    for (auto& [_, vs] : t)
        for (auto& [__, d] : vs.destinations) {
            d.tunnel_type = TunnelType::Ipip;
            d.tunnel_port = 0;
            d.tunnel_flags = 0;
        }
    return t;
}

class IpvsKernel : public ::testing::Test {
protected:
    void SetUp() override {
        ns_ = lab_.netns("lb");
        auto c = in_netns(ns_, [] { return Client::open(); });
        ASSERT_TRUE(c.ok()) << c.error().message
                            << "\n(kernel-tier tests run inside tests/kernel/vm-run, not on the host)";
        client_ = std::move(*c);
    }

    void TearDown() override { client_.reset(); }

    // ipvsadm in the test's namespace; fails the test when ipvsadm fails.
    std::string ipvsadm(std::vector<std::string> args) {
        args.insert(args.begin(), "ipvsadm");
        auto r = lab_.exec("lb", args);
        EXPECT_TRUE(r.ok()) << fmt::format("{}", fmt::join(args, " ")) << ": " << r.output;
        return r.output;
    }

    Table ipvsadm_table() { return parse_ipvsadm(ipvsadm({"-Ln"}), ipvsadm({"-Ln", "--thresholds"})); }

    Table client_table() {
        auto t = client_->dump();
        EXPECT_TRUE(t.ok()) << t.error().message;
        return t.ok() ? *t : Table{};
    }

    lt::Lab lab_;
    std::string ns_;
    std::unique_ptr<Client> client_;
};

}  // namespace lvsd::ipvs::test
