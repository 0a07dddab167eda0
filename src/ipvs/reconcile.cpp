#include "ipvs/reconcile.hpp"

#include <algorithm>
#include <utility>

namespace lvsd::ipvs {

Op add_service(const Service& s) { return {OpKind::AddService, s, {}}; }
Op edit_service(const Service& s) { return {OpKind::EditService, s, {}}; }

Op delete_service(const ServiceKey& k) {
    Op op{OpKind::DeleteService, {}, {}};
    op.service.key = k;
    return op;
}

Op add_destination(const ServiceKey& s, const Destination& d) {
    Op op{OpKind::AddDestination, {}, d};
    op.service.key = s;
    return op;
}

Op edit_destination(const ServiceKey& s, const Destination& d) {
    Op op{OpKind::EditDestination, {}, d};
    op.service.key = s;
    return op;
}

Op delete_destination(const ServiceKey& s, const DestinationKey& d) {
    Op op{OpKind::DeleteDestination, {}, {}};
    op.service.key = s;
    op.destination.key = d;
    return op;
}

namespace {

// The destinations of `have` in the kernel's order, oldest first: `order` where it names
// a destination that exists, then any it does not name (not seen in order: treated as
// the newest, in key order).
std::vector<DestinationKey> kernel_order(const VirtualService& have) {
    std::vector<DestinationKey> out;
    std::set<DestinationKey> seen;
    for (const auto& k : have.order)
        if (have.destinations.contains(k) && seen.insert(k).second) out.push_back(k);
    for (const auto& [k, _] : have.destinations)
        if (!seen.contains(k)) out.push_back(k);
    return out;
}

// How many of the wanted destinations (in key order) the kernel already holds as its
// oldest ones, in that order: those stay; the rest are (re)added in key order.
std::size_t canonical_prefix(const VirtualService& want, const VirtualService& have) {
    std::size_t n = 0;
    auto w = want.destinations.begin();
    for (const auto& k : kernel_order(have)) {
        if (!want.destinations.contains(k)) continue;  // deleted anyway; no effect on order
        if (w == want.destinations.end() || w->first != k) break;
        ++n;
        ++w;
    }
    return n;
}

}  // namespace

bool keeps_canonical_order(const Service& s) { return s.scheduler == "mh"; }

std::vector<Op> diff(const Table& desired, const Table& observed,
                     const std::set<ServiceKey>& owned) {
    std::vector<Op> services, dest_adds, dest_edits, dest_deletes, deletes;
    for (const auto& [key, want] : desired) {
        auto found = observed.find(key);
        if (found == observed.end()) {
            services.push_back(add_service(want.service));
            for (const auto& [_, d] : want.destinations) dest_adds.push_back(add_destination(key, d));
            continue;
        }
        const VirtualService& have = found->second;
        if (!equivalent(want.service, have.service)) services.push_back(edit_service(want.service));
        if (keeps_canonical_order(want.service)) {
            // Wanted destinations past the canonical prefix are added in key order, each
            // one the kernel holds out of place deleted just before its add (so the
            // service never runs empty and each is out for one op only; the kernel keeps
            // a deleted destination with connections in its trash, and the add takes it
            // back with them: ip_vs_trash_get_dest).
            const std::size_t keep = canonical_prefix(want, have);
            std::size_t i = 0;
            for (const auto& [dk, d] : want.destinations) {
                auto h = have.destinations.find(dk);
                if (i++ < keep) {
                    if (!equivalent(d, h->second)) dest_edits.push_back(edit_destination(key, d));
                    continue;
                }
                if (h != have.destinations.end()) dest_adds.push_back(delete_destination(key, dk));
                dest_adds.push_back(add_destination(key, d));
            }
            for (const auto& [dk, _] : have.destinations)
                if (!want.destinations.contains(dk)) dest_deletes.push_back(delete_destination(key, dk));
            continue;
        }
        // Both maps are sorted by key: one merge walk finds adds, edits and deletes.
        auto w = want.destinations.begin();
        auto h = have.destinations.begin();
        while (w != want.destinations.end() || h != have.destinations.end()) {
            if (h == have.destinations.end() ||
                (w != want.destinations.end() && w->first < h->first)) {
                dest_adds.push_back(add_destination(key, w->second));
                ++w;
            } else if (w == want.destinations.end() || h->first < w->first) {
                dest_deletes.push_back(delete_destination(key, h->first));
                ++h;
            } else {
                if (!equivalent(w->second, h->second))
                    dest_edits.push_back(edit_destination(key, w->second));
                ++w;
                ++h;
            }
        }
    }
    for (const auto& [key, _] : observed)
        if (!desired.contains(key) && owned.contains(key)) deletes.push_back(delete_service(key));

    std::vector<Op> out;
    out.reserve(services.size() + dest_adds.size() + dest_edits.size() + dest_deletes.size() +
                deletes.size());
    for (auto* part : {&services, &dest_adds, &dest_edits, &dest_deletes, &deletes})
        for (auto& op : *part) out.push_back(std::move(op));
    return out;
}

void apply_to(Table& table, const Op& op) {
    const ServiceKey& key = op.service.key;
    switch (op.kind) {
        case OpKind::AddService: table[key] = VirtualService{op.service, {}, {}}; return;
        case OpKind::EditService: table[key].service = op.service; return;
        case OpKind::DeleteService: table.erase(key); return;
        case OpKind::AddDestination:
            if (auto it = table.find(key); it != table.end()) {
                auto& vs = it->second;
                // A table whose order is unknown (empty with destinations) stays unknown.
                if (!vs.destinations.contains(op.destination.key) &&
                    (!vs.order.empty() || vs.destinations.empty()))
                    vs.order.push_back(op.destination.key);
                vs.destinations[op.destination.key] = op.destination;
            }
            return;
        case OpKind::EditDestination:
            if (auto it = table.find(key); it != table.end())
                it->second.destinations[op.destination.key] = op.destination;
            return;
        case OpKind::DeleteDestination:
            if (auto it = table.find(key); it != table.end()) {
                it->second.destinations.erase(op.destination.key);
                std::erase(it->second.order, op.destination.key);
            }
            return;
    }
}

void Reconciler::set_desired(Table desired) { desired_ = std::move(desired); }

Result<ReconcileReport> Reconciler::reconcile() {
    auto observed = backend_.dump();
    if (!observed) return observed.error();
    kernel_ = std::move(*observed);

    // Adoption: a desired service that already exists (an earlier lvsd left it, or an
    // operator made it by hand) is taken over and edited, never re-added.
    for (const auto& [key, _] : desired_)
        if (kernel_.contains(key)) owned_.insert(key);
    // Ownership ends with the object: a service that is neither desired nor in the
    // kernel any more (deleted behind lvsd's back) is forgotten, so that one an
    // operator creates later under the same key is theirs.
    std::erase_if(owned_, [&](const ServiceKey& k) { return !desired_.contains(k) && !kernel_.contains(k); });

    std::vector<Op> ops = diff(desired_, kernel_, owned_);
    ReconcileReport report;
    report.ops_planned = ops.size();
    if (ops.empty()) return report;

    // Three rounds, so that a destination is sent only once its service exists (a
    // failed service add would otherwise fail each of its destinations too).
    auto run = [&](std::vector<Op> batch) {
        if (batch.empty()) return;
        auto results = backend_.apply(batch);
        report.ops_sent += batch.size();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const bool ok = i < results.size() && results[i].ok();
            if (!ok) {
                ++report.ops_failed;
                report.errors.push_back(i < results.size()
                                            ? results[i].error()
                                            : make_error(EIO, "{}: no result from the backend",
                                                         batch[i]));
                continue;
            }
            // Only an acknowledged op changes what we believe the kernel holds.
            apply_to(kernel_, batch[i]);
            report.applied.push_back(batch[i]);
            if (batch[i].kind == OpKind::AddService) owned_.insert(batch[i].service.key);
            if (batch[i].kind == OpKind::DeleteService) owned_.erase(batch[i].service.key);
        }
    };

    std::vector<Op> services, destinations, deletes;
    for (auto& op : ops) {
        if (op.kind == OpKind::DeleteService)
            deletes.push_back(std::move(op));
        else if (op.on_service())
            services.push_back(std::move(op));
        else
            destinations.push_back(std::move(op));
    }
    run(std::move(services));
    std::erase_if(destinations, [&](const Op& op) { return !kernel_.contains(op.service.key); });
    run(std::move(destinations));
    run(std::move(deletes));
    return report;
}

}  // namespace lvsd::ipvs
