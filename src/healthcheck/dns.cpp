#include "healthcheck/dns.hpp"

#include <ldns/ldns.h>

#include <memory>
#include <string>

#include <fmt/format.h>

namespace lvsd::healthcheck {

namespace {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

std::string type_name(uint16_t type) {
    char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
    std::string out = s ? s : fmt::format("TYPE{}", type);
    free(s);
    return out;
}

}  // namespace

std::optional<uint16_t> dns_type(std::string_view name) {
    const std::string n(name);
    const ldns_rr_type t = ldns_get_rr_type_by_name(n.c_str());
    if (t == 0) return std::nullopt;
    return static_cast<uint16_t>(t);
}

Result<std::string> dns_query(std::string_view name, uint16_t type, uint16_t id) {
    const std::string n(name);
    std::unique_ptr<ldns_rdf, RdfFree> owner(ldns_dname_new_frm_str(n.c_str()));
    if (!owner) return make_error(EINVAL, "DNS name '{}' is not a domain name", name);
    // ldns_pkt_query_new takes the name over.
    std::unique_ptr<ldns_pkt, PktFree> pkt(
        ldns_pkt_query_new(owner.release(), static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN, LDNS_RD));
    if (!pkt) return make_error(ENOMEM, "cannot build a DNS query for {}", name);
    ldns_pkt_set_id(pkt.get(), id);
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK || !wire)
        return make_error(EINVAL, "cannot encode a DNS query for {}", name);
    std::string out(reinterpret_cast<const char*>(wire), size);
    free(wire);
    return out;
}

DnsVerdict dns_judge(std::string_view datagram, uint16_t type, uint16_t id) {
    DnsVerdict v;
    // The header alone is 12 bytes (RFC 1035 section 4.1.1); a UDP answer at most 64 KiB.
    if (datagram.size() < 12 || datagram.size() > 65535) return v;
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(datagram.data()), datagram.size()) != LDNS_STATUS_OK) {
        // Not DNS, or cut short: if the header says it is our response, it is a bad one.
        const auto* b = reinterpret_cast<const uint8_t*>(datagram.data());
        if (((b[0] << 8) | b[1]) == id && (b[2] & 0x80)) {
            v.matches = true;
            v.reason = "malformed DNS response";
        }
        return v;
    }
    std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
    if (ldns_pkt_id(pkt.get()) != id || !ldns_pkt_qr(pkt.get())) return v;
    v.matches = true;
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
    if (rcode != LDNS_RCODE_NOERROR) {
        const ldns_lookup_table* l = ldns_lookup_by_id(ldns_rcodes, rcode);
        v.reason = l ? l->name : fmt::format("RCODE {}", static_cast<int>(rcode));
        return v;
    }
    std::unique_ptr<ldns_rr_list, RrListFree> rrs(
        ldns_pkt_rr_list_by_type(pkt.get(), static_cast<ldns_rr_type>(type), LDNS_SECTION_ANSWER));
    const size_t n = rrs ? ldns_rr_list_rr_count(rrs.get()) : 0;
    if (n == 0) {
        v.reason = fmt::format("no {} record in the answer", type_name(type));
        return v;
    }
    v.ok = true;
    v.reason = fmt::format("{} {} record{}", n, type_name(type), n == 1 ? "" : "s");
    return v;
}

}  // namespace lvsd::healthcheck
