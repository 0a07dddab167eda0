// The reconciler: the only writer of the IPVS table (DESIGN.md). A pure `diff` computes
// the smallest list of operations from the desired table to the kernel's; `Reconciler`
// carries them out through an injected `Backend` (the genetlink `Client` in production,
// a fake in unit tests) and updates what it believes only after the kernel's ACK.
#pragma once

#include <cstddef>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ipvs/ipvs.hpp"

namespace lvsd::ipvs {

enum class OpKind : uint8_t {
    AddService,
    EditService,
    DeleteService,
    AddDestination,
    EditDestination,
    DeleteDestination,
};

// One netlink operation. Destination ops use `service.key` and `destination`; service
// ops ignore `destination`. Delete ops need only the keys.
struct Op {
    OpKind kind;
    Service service;
    Destination destination{};

    bool on_service() const { return kind <= OpKind::DeleteService; }
    friend bool operator==(const Op&, const Op&) = default;
};

Op add_service(const Service& s);
Op edit_service(const Service& s);
Op delete_service(const ServiceKey& k);
Op add_destination(const ServiceKey& s, const Destination& d);
Op edit_destination(const ServiceKey& s, const Destination& d);
Op delete_destination(const ServiceKey& s, const DestinationKey& d);

// What writes the table. Implemented by `Client`; unit tests pass a fake.
class Backend {
public:
    virtual ~Backend() = default;
    // The whole table as the kernel has it.
    virtual Result<Table> dump() = 0;
    // Carries out `ops` in order and returns one result per op; a failed op does not
    // stop the ones after it (each is independent in the kernel).
    virtual std::vector<Result<void>> apply(std::span<const Op> ops) = 0;
};

// The smallest list of operations that turns `observed` into `desired`:
// - a service or destination missing from `observed` is added;
// - a changed setting (scheduler, flags, persistence, weight, thresholds, forwarding)
//   is an edit in place: an existing object is never deleted and re-created, as that
//   would drop its connections;
// - a service not in `desired` is deleted only when it is in `owned` (lvsd created or
//   adopted it); other services are someone else's and stay untouched, destinations
//   and all;
// - destinations of a desired service that are not desired are deleted.
// - a service with the mh scheduler keeps its destinations in the kernel in one
//   canonical order, key order (family, address bytes, port: DestinationKey's <=>), the
//   order in which they were added (VirtualService::order), so that every balancer
//   behind ECMP builds the same Maglev table and a flow meets the same real server on
//   whichever balancer it reaches. When the kernel's order differs (a different config
//   order or insertion history, an ipvsadm behind lvsd's back, a new real server that
//   sorts before existing ones), the destinations from the first out-of-place one
//   onward are added again in key order, each deleted just before its add (the service
//   never runs empty, and each destination is out for one op): the kernel keeps a deleted
//   destination that has connections in its trash and the add takes it back
//   (ip_vs_ctl.c ip_vs_trash_get_dest), so its connections go on (packets arriving
//   between the two ops are dropped, TCP retransmits them; with the non-default
//   net.ipv4.vs.expire_nodest_conn=1 such a packet expires its connection). Nothing is
//   sent when the order is canonical or unknown (`order` empty). `ipvsadm -Ln` sorts
//   what it shows; `ipvsadm -Ln --nosort` shows the kernel's list, newest first, so a
//   canonical mh service lists its real servers in descending order there. Other
//   schedulers do not depend on the order: one op per change, as above.
// Order: service adds and edits, then destination adds (in key order, with an mh
// service's reorder deletes before their adds), edits and deletes (adds first, so that a
// service whose real servers are replaced never runs empty), then service deletes (a
// deleted service takes its destinations with it).
std::vector<Op> diff(const Table& desired, const Table& observed, const std::set<ServiceKey>& owned);

// Whether `diff` keeps the destinations of `s` in canonical order (the mh scheduler).
bool keeps_canonical_order(const Service& s);

// Applies one acknowledged op to a table (the reconciler's picture of the kernel; an
// added destination goes last in `order`).
void apply_to(Table& table, const Op& op);

struct ReconcileReport {
    std::size_t ops_planned = 0;  // what diff asked for
    std::size_t ops_sent = 0;     // what went to the kernel
    std::size_t ops_failed = 0;
    std::vector<Op> applied;    // acknowledged ops, in order (for the log)
    std::vector<Error> errors;  // one per failed op, in order
    bool ok() const { return errors.empty(); }
};

class Reconciler {
public:
    explicit Reconciler(Backend& backend) : backend_(backend) {}

    // Replaces the desired table (a new config, a health change). Services that were
    // desired before stay owned, so that dropping one from the config deletes it.
    void set_desired(Table desired);
    const Table& desired() const { return desired_; }

    // Dumps the kernel, diffs and applies. Fails only when the dump fails; failed ops
    // are listed in the report and retried by the next call, which diffs again.
    // At start this adopts desired services that already exist (no EEXIST).
    Result<ReconcileReport> reconcile();

    // Services lvsd may delete: desired ones seen in the kernel or added with an ACK.
    const std::set<ServiceKey>& owned() const { return owned_; }
    // Services an earlier run of lvsd owned (read back from its state file at start):
    // the next reconcile deletes those that are no longer desired, instead of leaving
    // them behind as someone else's. Keys not in the kernel are dropped by it.
    void adopt(const std::set<ServiceKey>& owned_before) { owned_.insert(owned_before.begin(), owned_before.end()); }
    // The kernel table as of the last reconcile: the dump plus every acknowledged op.
    const Table& kernel() const { return kernel_; }

private:
    Backend& backend_;
    Table desired_;
    Table kernel_;
    std::set<ServiceKey> owned_;
};

}  // namespace lvsd::ipvs

template <>
struct fmt::formatter<lvsd::ipvs::Op> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::ipvs::Op& op, Ctx& ctx) const {
        using K = lvsd::ipvs::OpKind;
        std::string s;
        switch (op.kind) {
            case K::AddService: s = fmt::format("add service {}", op.service.key); break;
            case K::EditService: s = fmt::format("edit service {}", op.service.key); break;
            case K::DeleteService: s = fmt::format("delete service {}", op.service.key); break;
            case K::AddDestination:
                s = fmt::format("add destination {} to {}", op.destination.key, op.service.key);
                break;
            case K::EditDestination:
                s = fmt::format("edit destination {} of {}", op.destination.key, op.service.key);
                break;
            case K::DeleteDestination:
                s = fmt::format("delete destination {} from {}", op.destination.key,
                                op.service.key);
                break;
        }
        return fmt::formatter<std::string_view>::format(s, ctx);
    }
};
