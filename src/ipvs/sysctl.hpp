// The IPVS sysctls lvsd keeps for announced services (issue 14): net.ipv4.vs.sloppy_tcp
// and net.ipv4.vs.sloppy_sctp. Behind ECMP a flow can move to another balancer in the
// middle of its connection (a balancer added, drained or lost); without the sloppy
// setting that balancer's IPVS creates a connection only from a SYN (SCTP: an INIT), so
// the flow's packets go up to the balancer's own stack, which holds the VIP but no such
// connection and answers with a reset. With it set,
// IPVS schedules the flow from any packet, and mh (the same table on every balancer)
// sends it to the real server that already has it (ip_vs_proto_tcp.c tcp_conn_schedule,
// ip_vs_proto_sctp.c sctp_conn_schedule: sysctl_sloppy_tcp / sysctl_sloppy_sctp).
// The decision is pure (`plan_sloppy`); `IpvsSysctls` only reads and writes the files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lvsd::ipvs {

// The sysctls, by their name under net.ipv4.vs.
inline constexpr std::string_view kSloppyTcp = "sloppy_tcp";
inline constexpr std::string_view kSloppySctp = "sloppy_sctp";

// One sysctl as read: unset when it could not be read (no ip_vs module yet).
struct SysctlReading {
    std::string name;  // under net.ipv4.vs, e.g. "sloppy_tcp"
    std::optional<int> value;
};

struct SysctlWrite {
    std::string name;
    int value = 0;
    std::optional<int> was;  // what it read before (unset: unreadable)
    friend bool operator==(const SysctlWrite&, const SysctlWrite&) = default;
};

// The writes that make both sloppy sysctls 1 while `announced` (some announced service
// is configured); none otherwise: lvsd never sets them back to 0, neither here nor on
// exit (another balancer's flows arriving here during a restart or a reload that drops
// the last announced service still need them, and the operator may have set them for
// reasons of their own). A sysctl that could not be read is not written (ip_vs not
// loaded: the directory does not exist yet; the next call tries again).
std::vector<SysctlWrite> plan_sloppy(bool announced, const std::vector<SysctlReading>& current);

// Reads and writes <root>/<name> (root: /proc/sys/net/ipv4/vs of the calling thread's
// network namespace, where the kernel shows the per-namespace IPVS settings once ip_vs
// is loaded).
class IpvsSysctls {
public:
    explicit IpvsSysctls(std::string root = "/proc/sys/net/ipv4/vs") : root_(std::move(root)) {}

    SysctlReading read(std::string_view name) const;
    // Errors name the file and the errno (EACCES without root, EROFS in a container
    // with a read-only /proc/sys).
    Result<void> write(std::string_view name, int value) const;

    // Reads both sloppy sysctls, plans and writes. Returns the writes that took effect;
    // fails on the first write that does not.
    Result<std::vector<SysctlWrite>> keep_sloppy(bool announced) const;

private:
    std::string root_;
};

}  // namespace lvsd::ipvs
