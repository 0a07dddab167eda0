// The IPVS sections of the configuration (config.hpp has the whole): virtual_servers,
// their real_servers and health checks, and virtual_server_groups.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/net.hpp"
#include "config/basics.hpp"

namespace lvsd::config {

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
    // Scale-out: the VIP is announced through BIRD while this service (and every other
    // announced service on the VIP) has its quorum, instead of floated by VRRP. Such a
    // service uses mh with mh-port, inhibits failed real servers and has no persistence.
    bool announce = false;
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
}  // namespace lvsd::config
