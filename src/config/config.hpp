// The lvsd configuration: libconfig syntax in, one immutable, fully validated snapshot
// out (DESIGN.md: "Config (immutable snapshot, replaced whole on SIGHUP)").
//
// Every default is already applied and every cross-reference already checked when a
// Config exists, so consumers never re-validate: a VrrpInstance has its version and
// family decided, a RealServer carries its effective lb_kind and inhibit_on_failure, a
// HealthCheck its effective port and delay_loop. Key names and defaults follow
// keepalived where keepalived has the concept; the README's configuration reference lists them all.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/net.hpp"

namespace lvsd::config {

using Duration = std::chrono::milliseconds;

// Where a group (or a key) was written; `file` differs from Config::source for settings
// that came from an @include.
struct Location {
    std::string file;
    int line = 0;
};

// One problem found in a configuration. to_string() gives `FILE:LINE: message`.
struct Diagnostic {
    std::string file;
    int line = 0;
    std::string message;
};
std::string to_string(const Diagnostic& d);

enum class LogLevel : uint8_t { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class VrrpState : uint8_t { Backup, Master };
enum class Protocol : uint8_t { Tcp, Udp, Sctp };
// keepalived's lb_kind names: DR (direct routing, ipvsadm -g), NAT (-m), TUN (-i).
enum class Forwarding : uint8_t { DirectRouting, Nat, Tunnel };

std::string_view to_string(LogLevel);
std::string_view to_string(VrrpState);   // "MASTER", "BACKUP"
std::string_view to_string(Protocol);    // "TCP", "UDP", "SCTP"
std::string_view to_string(Forwarding);  // "DR", "NAT", "TUN"

struct Endpoint {
    IpAddress address;
    uint16_t port = 0;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A notify command, split into argv like a shell would split it (quotes group words;
// no variables, no globbing). argv[0] is an absolute path to an executable file.
struct Command {
    std::vector<std::string> argv;
    Location where;
};

// keepalived's notify_* scripts. `notify` runs on every transition with the arguments
// keepalived passes: "INSTANCE"|"GROUP", name, state, priority.
struct Notify {
    std::optional<Command> master, backup, fault, stop, any;
};

struct SyncDaemon {  // global_defs.lvs_sync_daemon: IPVS connection sync
    std::string interface;
    std::string instance;  // the VRRP instance whose state starts master/backup sync
    uint8_t syncid = 0;
    Location where;
};

// keepalived's global VRRP defaults: they apply to every instance (and script) that does
// not set the key itself.
struct VrrpDefaults {
    std::optional<uint8_t> version;                      // vrrp_version (IPv4 instances)
    std::optional<Duration> garp_interval;               // vrrp_garp_interval (IPv4 instances)
    std::optional<Duration> gna_interval;                // vrrp_gna_interval (IPv6 instances)
    std::optional<Duration> garp_master_delay;           // vrrp_garp_master_delay
    std::optional<uint32_t> garp_master_repeat;          // vrrp_garp_master_repeat
    std::optional<Duration> garp_master_refresh;         // vrrp_garp_master_refresh
    std::optional<uint32_t> garp_master_refresh_repeat;  // vrrp_garp_master_refresh_repeat
    std::string script_user;                             // script_user: vrrp_scripts' default user
    std::string script_group;
};

struct Global {
    std::string router_id;  // empty: the host name
    LogLevel log_level = LogLevel::Info;
    std::string control_socket = "/run/lvsd/lvsd.sock";
    Duration reconcile_interval = std::chrono::seconds(10);
    std::optional<Endpoint> metrics_listen;
    Location metrics_listen_where;  // the key's line, for errors binding it
    std::optional<SyncDaemon> lvs_sync_daemon;
    VrrpDefaults vrrp;
    Location where;
};

struct VirtualAddress {
    Prefix prefix;      // `/32` or `/128` when written without a length
    std::string dev;    // empty: the instance's interface
    std::string label;  // IPv4 only; empty: none
    Location where;
};

struct TrackInterface {
    std::string name;
    int weight = 0;  // 0: interface down = FAULT; otherwise added to the priority while down
    Location where;
};

// The instance goes to FAULT when none of `targets` answers ARP (IPv4) or neighbour
// solicitation (IPv6) for `fall` consecutive probes `interval` apart.
struct TrackArpTarget {
    std::vector<IpAddress> targets;
    Duration interval = std::chrono::seconds(1);
    uint32_t fall = 3;
    int weight = 0;  // 0: no target answering = FAULT; otherwise added to the priority then
    Location where;
};

// keepalived's vrrp_script: a command run every `interval`; its exit status (0: success)
// judged with rise/fall moves the priority of the instances that track it by `weight`
// (positive: added while it succeeds; negative: added while it fails; 0: FAULT while it
// fails).
struct VrrpScript {
    std::string name;
    Command script;  // argv; {"/bin/sh", "-c", text} when the text needs a shell
    std::string text;  // as written, for logs and --plan
    Duration interval = std::chrono::seconds(1);
    Duration timeout{0};  // 0: the interval (keepalived's default)
    int weight = 0;       // -253..253
    uint32_t rise = 1;
    uint32_t fall = 1;
    std::string user;   // run as this user (empty: root)
    std::string group;  // and group (empty: the user's)
    bool init_fail = false;  // failed until its first success (else succeeded until it fails)
    Location where;
};

// keepalived's vrrp_track_file: a file holding a number; a tracking instance adds
// number × weight to its priority (weight 0: FAULT while the number is not 0).
struct VrrpTrackFile {
    std::string name;
    std::string file;  // absolute path
    int weight = 1;    // -254..254, keepalived's default 1
    std::optional<long> init_file;  // written when the file is missing at start
    bool init_overwrite = false;    // written at start even when it exists
    Location where;
};

struct TrackFile {
    std::string name;           // a vrrp_track_files name
    std::optional<int> weight;  // overrides the file's weight
    Location where;
};

// keepalived's vrrp_track_process: while quorum..quorum_max processes match, the process
// is up (weights as for scripts: positive added while up, negative while down, 0 = FAULT
// while down).
struct VrrpTrackProcess {
    std::string name;
    std::string process;            // the name (comm or argv[0]'s base name; with a '/', argv[0])
    std::vector<std::string> args;  // parameters after it, for param_match
    std::string param_match;        // "" (none), "exact", "initial", "partial"
    int weight = 0;
    uint32_t quorum = 1;
    std::optional<uint32_t> quorum_max;
    Duration delay{0};
    Location where;
};

struct TrackProcess {
    std::string name;
    std::optional<int> weight;
    Location where;
};

struct TrackScript {
    std::string name;           // a vrrp_scripts name
    std::optional<int> weight;  // overrides the script's weight for this instance
    Location where;
};

struct VrrpInstance {
    std::string name;
    VrrpState state = VrrpState::Backup;  // initial state hint (RFC 5798 §6.4.1)
    std::string interface;
    uint8_t virtual_router_id = 0;
    uint8_t priority = 100;  // 255: address owner
    Duration advert_int = std::chrono::seconds(1);
    uint8_t version = 2;              // 2 (RFC 3768) or 3 (RFC 5798); IPv6 is always 3
    Family family = Family::V4;       // of the virtual addresses (one family per instance)
    bool nopreempt = false;
    Duration preempt_delay{0};
    std::optional<IpAddress> unicast_src_ip;
    std::vector<IpAddress> unicast_peer;  // empty: multicast to 224.0.0.18 / ff02::12
    std::vector<VirtualAddress> virtual_ipaddress;  // at least one
    std::vector<TrackInterface> track_interface;
    std::vector<TrackScript> track_script;
    std::vector<TrackFile> track_file;
    std::vector<TrackProcess> track_process;
    std::optional<TrackArpTarget> track_arp_target;
    Duration garp_master_delay = std::chrono::seconds(5);
    uint32_t garp_master_repeat = 5;
    Duration garp_interval{0};
    Duration garp_master_refresh{0};  // 0: no periodic refresh
    uint32_t garp_master_refresh_repeat = 1;
    std::optional<std::string> auth_pass;  // VRRPv2 simple-text authentication, or the AH key
    bool auth_ah = false;                  // auth_type AH (IPv4 only): auth_pass keys HMAC-MD5-96
    Notify notify;
    Location where;
    std::string use_vmac;           // keepalived's use_vmac: the macvlan's name ("" = none)
    bool vmac_xmit_base = false;    // adverts on `interface`, not on the macvlan
    bool dont_track_primary = false;  // `interface` down is not a FAULT (keepalived's keyword)
    Location interface_where;       // of the `interface` setting
    Location unicast_src_ip_where;  // of `unicast_src_ip`, when set
};

struct VrrpSyncGroup {
    std::string name;
    std::vector<std::string> group;  // instance names, each known and in one group only
    Notify notify;
    std::vector<TrackScript> track_script;  // tracked by every member (keepalived)
    Location where;
};

using StatusCodes = std::vector<std::pair<uint16_t, uint16_t>>;  // inclusive ranges

struct TcpProbe {
    bool half_open = true;  // SYN through a raw socket; false: connect() as keepalived
};
struct HttpProbe {
    std::string path = "/";
    std::string virtualhost;  // Host header; empty: the connect address
    StatusCodes status_code{{200, 299}};
    std::string body_contains;  // empty: the body is not checked
    std::string digest;         // MD5 of the body, 32 lowercase hex digits; empty: not checked
    // SSL_GET: the same over TLS (SNI = virtualhost). The certificate is not verified
    // unless ssl_verify (keepalived does not verify either), then against ssl_ca or the
    // system's trust store, and for virtualhost (else the connect address).
    bool tls = false;
    bool ssl_verify = false;
    std::string ssl_ca;
};
// An HTTP GET *through* the real server acting as a forward proxy:
// `GET http://host[:port]/path HTTP/1.1` sent to the real server.
struct ProxyProbe {
    std::string url;   // absolute http:// URL, as written
    std::string host;  // for the Host header: host[:port] from the URL
    StatusCodes status_code{{200, 299}};
};

// Whom a MISC_CHECK script runs as (keepalived's `user USERNAME [GROUPNAME]`).
struct ScriptUser {
    std::string name;  // as written: "nobody" or "nobody nogroup"
    uint32_t uid = 0;
    uint32_t gid = 0;
    friend bool operator==(const ScriptUser&, const ScriptUser&) = default;
};
// keepalived's MISC_CHECK: runs a command; exit 0 up, 1 down; with misc_dynamic 2..255
// is up with weight (status - 2), without it any non-zero status is down. Its timeout
// (misc_timeout) is HealthCheck::connect_timeout.
struct MiscProbe {
    std::vector<std::string> argv;  // `/bin/sh -c TEXT` when the text needs a shell
    std::string text;               // misc_path as written
    bool dynamic = false;           // misc_dynamic
    std::optional<ScriptUser> user;  // none: root (lvsd's own user)
};

// keepalived's UDP_CHECK: a datagram (payload, may be empty) to the target; an ICMP port
// unreachable is a failure; with require_reply so is silence until connect_timeout.
struct UdpProbe {
    std::string payload;  // bytes (from keepalived's hex string)
    bool require_reply = false;
};
// keepalived's DNS_CHECK: a query over UDP; up when an answer with the same id, NOERROR and
// at least one record of `type` in its answer section comes back.
struct DnsProbe {
    std::string type = "SOA";  // keepalived's default
    std::string name = ".";
};

// keepalived's SMTP_CHECK: the greeting must be 220, `HELO helo_name` answered 250 and
// QUIT answered 221 (RFC 5321; multi-line replies read whole, see healthcheck/smtp.hpp).
// keepalived's `host { }` sub-blocks are refused: several SMTP_CHECK groups instead.
struct SmtpProbe {
    std::string helo_name = "smtpchecker.keepalived.org";  // keepalived's default; 1-255 visible ASCII
};

struct HealthCheck {
    std::variant<TcpProbe, HttpProbe, ProxyProbe, MiscProbe, UdpProbe, DnsProbe, SmtpProbe> probe;
    IpAddress connect_ip;       // default: the real server's address
    uint16_t connect_port = 0;  // default: the real server's port (SMTP_CHECK without one: 25)
    std::optional<IpAddress> bindto;
    std::optional<uint16_t> bind_port;
    Duration connect_timeout = std::chrono::seconds(5);
    Duration delay_loop = std::chrono::seconds(60);  // default: the virtual server's
    Duration delay_before_retry = std::chrono::seconds(1);
    uint32_t rise = 1;  // consecutive successes to come back
    uint32_t fall = 2;  // consecutive failures to leave (keepalived: retry + 1)
    bool initially_up = true;  // false when the service sets `alpha`
    Location where;
};
// "TCP_CHECK", "HTTP_GET", "SSL_GET", "PROXY_CHECK", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK",
// "SMTP_CHECK"
std::string_view check_name(const HealthCheck&);

struct RealServer {
    IpAddress address;
    uint16_t port = 0;
    uint32_t weight = 1;
    Forwarding lb_kind = Forwarding::DirectRouting;  // default: the virtual server's
    uint32_t uthreshold = 0;                         // 0: no limit
    uint32_t lthreshold = 0;
    bool inhibit_on_failure = false;  // default: the virtual server's
    // None: always up. Several: up only while every one is up (keepalived's several
    // *_CHECK blocks in one real_server); a dynamic MISC_CHECK weight applies then.
    std::vector<HealthCheck> checks;
    // keepalived's notify_up / notify_down: run as written (nothing appended) when the
    // real server's verdict (all its checks together) changes.
    std::optional<Command> notify_up, notify_down;
    Location where;
};

struct VirtualServer {
    Family family = Family::V4;
    uint32_t fwmark = 0;  // non-zero: a firewall-mark service; address/port/protocol unused
    IpAddress address;
    uint16_t port = 0;
    Protocol protocol = Protocol::Tcp;
    std::string lb_algo = "wlc";  // a kernel scheduler name, validated
    Forwarding lb_kind = Forwarding::DirectRouting;
    uint32_t persistence_timeout = 0;  // seconds; 0: no persistence
    uint8_t persistence_granularity = 32;  // prefix length (host length by default)
    bool ops = false;
    bool sh_fallback = false, sh_port = false;
    bool mh_fallback = false, mh_port = false;
    Duration delay_loop = std::chrono::seconds(60);
    bool inhibit_on_failure = false;
    bool alpha = false;  // real servers start down until their check succeeds
    std::optional<Endpoint> sorry_server;
    std::vector<RealServer> real_servers;
    // keepalived's quorum: the service is up while the weights of its up real servers sum
    // to at least `quorum`; it goes down below quorum - hysteresis and comes back at
    // quorum + hysteresis. quorum_up / quorum_down run as written on those transitions;
    // while down, a sorry_server replaces every real server.
    uint32_t quorum = 1;
    uint32_t hysteresis = 0;
    std::optional<Command> quorum_up, quorum_down;
    // Non-empty: this service is one entry of the virtual_server_group of that name; the
    // loader made one VirtualServer per entry, each with the same settings and real
    // servers (and one quorum for them all, see pool_name()).
    std::string group;
    Location where;
};
// How ipvsadm names the service: "TCP 192.0.2.1:80", "UDP [2001:db8::1]:53", "FWM 7".
std::string service_name(const VirtualServer&);
// The virtual server as written: `group "NAME"` for the services of a group (they share
// one quorum and one set of real-server notifications), else service_name().
std::string pool_name(const VirtualServer&);

// One IPVS service of a virtual_server_group, as expanded from its entries
// ("192.0.2.10-20 80" gives eleven, "fwmark 7" one).
struct GroupMember {
    uint32_t fwmark = 0;  // non-zero: a firewall-mark service
    Family family = Family::V4;
    IpAddress address;
    uint16_t port = 0;
    Location where;  // of the entry
};

struct VirtualServerGroup {
    std::string name;
    std::vector<GroupMember> members;  // in the order written, at least one
    Location where;
};

struct Config {
    std::string source;  // the file name (or the name given to load_string)
    Global global;
    std::vector<VrrpScript> vrrp_scripts;
    std::vector<VrrpTrackFile> vrrp_track_files;
    std::vector<VrrpTrackProcess> vrrp_track_processes;
    std::vector<VrrpInstance> vrrp_instances;
    std::vector<VrrpSyncGroup> vrrp_sync_groups;
    std::vector<VirtualServerGroup> virtual_server_groups;
    // A virtual server naming a group appears once per member of the group.
    std::vector<VirtualServer> virtual_servers;
};

// Either a valid Config or every problem found (at least one).
class LoadResult {
public:
    explicit LoadResult(std::shared_ptr<const Config> c) : config_(std::move(c)) {}
    explicit LoadResult(std::vector<Diagnostic> d) : diagnostics_(std::move(d)) {}

    bool ok() const { return config_ != nullptr; }
    explicit operator bool() const { return ok(); }
    const std::shared_ptr<const Config>& config() const& { return config_; }
    const std::vector<Diagnostic>& diagnostics() const& { return diagnostics_; }
    // On a temporary (`load_file(p).diagnostics()` in a range-for) return by value, so
    // that nothing dangles.
    std::shared_ptr<const Config> config() && { return std::move(config_); }
    std::vector<Diagnostic> diagnostics() && { return std::move(diagnostics_); }

private:
    std::shared_ptr<const Config> config_;
    std::vector<Diagnostic> diagnostics_;
};

// Reads and validates a file; @include paths are relative to the file's directory.
LoadResult load_file(const std::string& path);
// Validates text; `name` stands for the file name in diagnostics.
LoadResult load_string(std::string_view text, const std::string& name);

struct LoadOptions {
    // false: check a file written for another host (lvsd --from-keepalived validates its
    // translation here, before it runs where the scripts are). Skips what depends on this
    // machine: whether commands exist and pass script security, users and groups exist,
    // ssl_ca exists. Everything else is checked the same.
    bool host_checks = true;
};
LoadResult load_string(std::string_view text, const std::string& name, LoadOptions options);

// What lvsd derives from a config, laid out for an operator (VRRP instances with their
// addresses and timers; IPVS services as ipvsadm -Ln shows them, with each real
// server's check). Pure: the same Config always gives the same text.
std::string format_plan(const Config& config);

}  // namespace lvsd::config

// Log formatting for the config types that appear in log lines.
template <>
struct fmt::formatter<lvsd::config::Diagnostic> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::config::Diagnostic& d, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::config::to_string(d), ctx);
    }
};

#define LVSD_CONFIG_ENUM_FORMATTER(T)                                                           \
    template <>                                                                                 \
    struct fmt::formatter<lvsd::config::T> : fmt::formatter<std::string_view> {                 \
        template <class Ctx>                                                                    \
        auto format(lvsd::config::T v, Ctx& ctx) const {                                        \
            return fmt::formatter<std::string_view>::format(lvsd::config::to_string(v), ctx);   \
        }                                                                                       \
    };
LVSD_CONFIG_ENUM_FORMATTER(LogLevel)
LVSD_CONFIG_ENUM_FORMATTER(VrrpState)
LVSD_CONFIG_ENUM_FORMATTER(Protocol)
LVSD_CONFIG_ENUM_FORMATTER(Forwarding)
#undef LVSD_CONFIG_ENUM_FORMATTER
