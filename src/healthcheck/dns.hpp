// DNS_CHECK's wire format, pure: the query lvsd sends and the verdict on an answer.
//
// The DNS message format is done by ldns (NLnet Labs, Debian's libldns-dev) rather than
// c-ares: ldns has pure packet <-> wire functions (ldns_pkt2wire, ldns_wire2pkt) and a
// generic "records of type T in section S" lookup, so Asio keeps all of the I/O on the
// one loop and every query type is handled alike. c-ares is a resolver with its own
// sockets and event loop; Debian 12's c-ares (1.18) offers only per-type reply parsers
// and no public record API, so it would have to be driven through its socket callbacks
// and taught each type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lvsd::healthcheck {

// The RR type number for a mnemonic ("A", "AAAA", "SOA", ...), case-insensitive.
std::optional<uint16_t> dns_type(std::string_view name);

// A recursion-desired query for `name` (presentation form, "." the root) of `type`,
// class IN, with the given id: the bytes of one UDP datagram.
Result<std::string> dns_query(std::string_view name, uint16_t type, uint16_t id);

struct DnsVerdict {
    bool matches = false;  // the answer to our query (same id, a response): judge it
    bool ok = false;       // NOERROR with a record of the type in the answer section
    std::string reason;    // "3 A records", "NXDOMAIN", "no AAAA record in the answer"...
};
// Judges one datagram received after dns_query(name, type, id). A datagram that is not
// a response to that id (or not DNS at all) has matches = false: the caller waits on.
DnsVerdict dns_judge(std::string_view datagram, uint16_t type, uint16_t id);

}  // namespace lvsd::healthcheck
