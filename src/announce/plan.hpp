// Announced VIPs (issue #14, DESIGN.md "Scale-out"): which host routes lvsd wants in its
// routing table, and the route operations that reach them. Pure: no netlink, no clock;
// routes.hpp carries the operations out, the daemon feeds the verdicts.
//
// A VIP is announced (its /32 or /128 is in global_defs.announce_table with
// announce_protocol, where BIRD learns it and exports it over BGP) while every announced
// service on it has its quorum and takes new connections, and the balancer is not drained
// (`lvsctl drain --balancer`). A service has no verdict until each of its checked real servers has been
// judged once: a fresh balancer does not join the ECMP set before its checks agree.
//
// A VIP already announced stays while services without a verdict yet wait for theirs
// (as long as no service on it has lost its quorum): that is adoption after a restart (a
// restarted lvsd finds its routes of the previous run in the table, after kill -9, a
// crash or an upgrade, and does not withdraw and re-announce them, a BGP flap) and also a
// reload that adds a service to an announced VIP.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace lvsd::announce {

struct ServiceVerdict {
    std::string name;            // "TCP 192.0.2.10:80", as ipvsadm names it (for reasons)
    std::optional<bool> quorum;  // nullopt: no first verdict yet
    // Whether the service has a real server (or its sorry server) with weight > 0 in the
    // table lvsd wants. False with quorum when the operator's overrides (issue #15:
    // disabled, draining, drained, weight 0) leave none: a route then would draw flows
    // that IPVS has nowhere to send.
    bool takes_new_connections = true;
};

struct Vip {
    IpAddress address;
    std::vector<ServiceVerdict> services;  // the announced services on this address
};

enum class State { Announced, Withdrawn };
std::string_view to_string(State s);

struct VipDecision {
    IpAddress address;
    State state = State::Withdrawn;
    std::string why;  // one phrase: "every service has its quorum", "balancer drained", ...
    friend bool operator==(const VipDecision&, const VipDecision&) = default;
};

struct PlanInput {
    std::vector<Vip> vips;  // every announced VIP of the running config
    bool drained = false;   // lvsctl drain --balancer is on
    // Announced as of the previous plan; at start, what adopt() found in the table.
    std::set<IpAddress> announced;
};

struct Plan {
    std::vector<VipDecision> decisions;  // one per input VIP, in input order
    std::set<IpAddress> desired;         // the host routes to have in the table (the next `announced`)
};

Plan plan(const PlanInput& in);

// At start: the routes found in lvsd's table (protocol announce_protocol) that are VIPs
// of `vips` are adopted; the others are not desired, and go.
std::set<IpAddress> adopt(const std::set<IpAddress>& found, const std::vector<Vip>& vips);

enum class OpKind { Add, Delete };
struct RouteOp {
    OpKind kind;
    IpAddress address;  // the host route's destination (/32 or /128)
    friend bool operator==(const RouteOp&, const RouteOp&) = default;
};
// desired vs observed (lvsd's protocol in lvsd's table): adds first, then deletes, each in
// address order. An observed route that is not desired is deleted, whoever put it there
// with lvsd's protocol number.
std::vector<RouteOp> diff(const std::set<IpAddress>& desired, const std::set<IpAddress>& observed);

}  // namespace lvsd::announce
