// ipvs::Client: IPVS operations (services, destinations, timeouts, sync daemons, the
// reconciler's dump and batched apply) as requests over its socket (socket.cpp), each
// failure named in the operator's terms.
#include "ipvs/client.hpp"

#include <linux/ip_vs.h>

#include <algorithm>
#include <cerrno>

#include <netlink/genl/genl.h>

#include "ipvs/detail/netlink.hpp"
#include "ipvs/detail/socket.hpp"

namespace lvsd::ipvs {
namespace {

using detail::MsgPtr;
using detail::errno_text;
using detail::with_extack;

// Why an op failed, in the operator's terms; the kernel's errno stays visible.
std::string op_reason(const Op& op, int err) {
    switch (err) {
        case ENOENT:
            if (op.kind == OpKind::AddService || op.kind == OpKind::EditService) {
                if (!op.service.persistence_engine.empty())
                    return fmt::format(
                        "scheduler \"{}\" or persistence engine \"{}\" not available (ENOENT)",
                        op.service.scheduler, op.service.persistence_engine);
                return fmt::format("scheduler \"{}\" not available (ENOENT)", op.service.scheduler);
            }
            if (!op.on_service()) return "no such destination (ENOENT)";
            break;
        case ESRCH: return "no such service (ESRCH)";
        case EEXIST:
            return op.on_service() ? "service already exists (EEXIST)"
                                   : "destination already exists (EEXIST)";
        case EPERM: return "operation not permitted: lvsd needs CAP_NET_ADMIN (EPERM)";
        case EINVAL:
            // validate() has ruled out the settings; what is left is the address type.
            if (op.kind == OpKind::AddDestination || op.kind == OpKind::EditDestination)
                return "invalid argument (EINVAL): the kernel takes only unicast or local "
                       "destination addresses";
            break;
        default: break;
    }
    return errno_text(err);
}

}  // namespace

uint64_t Client::requests_sent() const { return impl_->sent; }

std::vector<Result<void>> Client::apply(std::span<const Op> ops) {
    std::vector<Result<void>> results(ops.size());
    std::vector<MsgPtr> msgs;
    std::vector<std::size_t> index;
    msgs.reserve(ops.size());
    index.reserve(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        Result<void> valid;
        if (op.kind == OpKind::AddService || op.kind == OpKind::EditService)
            valid = validate(op.service);
        else if (op.kind == OpKind::AddDestination || op.kind == OpKind::EditDestination)
            valid = validate(op.service.key, op.destination);
        if (!valid) {
            results[i] = make_error(valid.error().code, "{}: {}", op, valid.error().message);
            continue;
        }
        auto m = detail::encode(op, impl_->family);
        if (!m) {
            results[i] = m.error();
            continue;
        }
        msgs.push_back(std::move(*m));
        index.push_back(i);
    }
    auto replies = impl_->transact(msgs);
    for (std::size_t j = 0; j < replies.size(); ++j) {
        if (replies[j].error == 0) continue;
        const Op& op = ops[index[j]];
        results[index[j]] = make_error(replies[j].error, "{}: {}", op,
                                       with_extack(op_reason(op, replies[j].error), replies[j].extack));
    }
    return results;
}

Result<void> Client::add_service(const Service& s) {
    const Op op = ipvs::add_service(s);
    return std::move(apply({&op, 1})[0]);
}
Result<void> Client::edit_service(const Service& s) {
    const Op op = ipvs::edit_service(s);
    return std::move(apply({&op, 1})[0]);
}
Result<void> Client::delete_service(const ServiceKey& k) {
    const Op op = ipvs::delete_service(k);
    return std::move(apply({&op, 1})[0]);
}
Result<void> Client::add_destination(const ServiceKey& s, const Destination& d) {
    const Op op = ipvs::add_destination(s, d);
    return std::move(apply({&op, 1})[0]);
}
Result<void> Client::edit_destination(const ServiceKey& s, const Destination& d) {
    const Op op = ipvs::edit_destination(s, d);
    return std::move(apply({&op, 1})[0]);
}
Result<void> Client::delete_destination(const ServiceKey& s, const DestinationKey& d) {
    const Op op = ipvs::delete_destination(s, d);
    return std::move(apply({&op, 1})[0]);
}

Result<std::vector<ServiceStatus>> Client::services() {
    return detail::retry_lost_dump([&] { return services_once(); });
}

Result<std::vector<ServiceStatus>> Client::services_once() {
    auto m = impl_->request(IPVS_CMD_GET_SERVICE);
    if (!m) return m.error();
    std::vector<ServiceStatus> out;
    auto r = impl_->exchange(m->get(), true, "dump IPVS services", [&](const nlmsghdr* h) -> Result<void> {
        auto msg = detail::decode(h, "dump IPVS services");
        // IPVS also balances AH and ESP, which lvsd cannot be configured with: such a
        // service is someone else's by definition, and failing the whole dump over it
        // would stop lvsd from maintaining its own.
        if (!msg && msg.error().code == EPROTONOSUPPORT) return {};
        if (!msg) return msg.error();
        if (msg->service) out.push_back(std::move(*msg->service));
        return {};
    });
    if (!r) return r.error();
    return out;
}

Result<std::vector<DestinationStatus>> Client::destinations(const ServiceKey& s) {
    return detail::retry_lost_dump([&]() -> Result<std::vector<DestinationStatus>> {
        std::vector<DestinationStatus> out;
        auto r = impl_->dump_destinations(s, true, [&](DestinationStatus&& d) { out.push_back(std::move(d)); });
        if (!r) return r.error();
        return out;
    });
}

Result<Table> Client::dump() {
    // The table is read whole again: services and destinations of one read belong together.
    return detail::retry_lost_dump([&] { return dump_once(); });
}

Result<Table> Client::dump_once() {
    auto m = impl_->request(IPVS_CMD_GET_SERVICE);
    if (!m) return m.error();
    Table table;
    std::vector<ServiceKey> keys;
    auto r = impl_->exchange(m->get(), true, "dump IPVS services", [&](const nlmsghdr* h) -> Result<void> {
        auto msg = detail::decode(h, "dump IPVS services", Family::V4, false);
        if (!msg && msg.error().code == EPROTONOSUPPORT) return {};  // see services()
        if (!msg) return msg.error();
        if (!msg->service) return {};
        keys.push_back(msg->service->service.key);
        table[keys.back()].service = std::move(msg->service->service);
        return {};
    });
    if (!r) return r.error();
    for (const auto& key : keys) {
        auto& vs = table[key];
        auto rd = impl_->dump_destinations(key, false, [&](DestinationStatus&& d) {
            const DestinationKey k = d.destination.key;
            vs.order.push_back(k);
            vs.destinations.emplace(k, std::move(d.destination));
        });
        if (!rd) return rd.error();
        // The dump is the kernel's list, newest first (see VirtualService::order).
        std::reverse(vs.order.begin(), vs.order.end());
    }
    return table;
}

Result<void> Client::flush() {
    auto m = impl_->request(IPVS_CMD_FLUSH);
    if (!m) return m.error();
    return impl_->exchange(m->get(), false, "flush IPVS table",
                           [](const nlmsghdr*) -> Result<void> { return {}; });
}

Result<Timeouts> Client::timeouts() {
    auto m = impl_->request(IPVS_CMD_GET_CONFIG);
    if (!m) return m.error();
    std::optional<Timeouts> got;
    auto r = impl_->exchange(m->get(), false, "get IPVS timeouts", [&](const nlmsghdr* h) -> Result<void> {
        auto msg = detail::decode(h, "get IPVS timeouts");
        if (!msg) return msg.error();
        if (msg->timeouts) got = msg->timeouts;
        return {};
    });
    if (!r) return r.error();
    if (!got) return make_error(EBADMSG, "get IPVS timeouts: the kernel's reply has no timeouts");
    return *got;
}

Result<void> Client::set_timeouts(const Timeouts& t) {
    const std::string what = fmt::format("set IPVS timeouts {}", t);
    auto m = impl_->request(IPVS_CMD_SET_CONFIG);
    if (!m) return m.error();
    if (int e = detail::put_timeouts(m->get(), t); e < 0)
        return make_error(ENOMEM, "{}: {}", what, nl_geterror(e));
    return impl_->exchange(m->get(), false, what, [](const nlmsghdr*) -> Result<void> { return {}; });
}

Result<void> Client::start_sync_daemon(const SyncDaemon& d) {
    const std::string what = fmt::format("start IPVS {}", d);
    if (d.interface.empty() || d.interface.size() >= IP_VS_IFNAME_MAXLEN)
        return make_error(EINVAL, "{}: interface name must have 1 to {} characters", what,
                          IP_VS_IFNAME_MAXLEN - 1);
    auto m = impl_->request(IPVS_CMD_NEW_DAEMON);
    if (!m) return m.error();
    if (int e = detail::put_sync_daemon(m->get(), d); e < 0)
        return make_error(ENOMEM, "{}: {}", what, nl_geterror(e));
    auto r = impl_->exchange(m->get(), false, what, [](const nlmsghdr*) -> Result<void> { return {}; });
    if (!r && r.error().code == EEXIST)
        return make_error(EEXIST, "{}: a {} sync daemon is already running (EEXIST)", what,
                          to_string(d.role));
    if (!r && r.error().code == ENODEV)
        return make_error(ENODEV, "{}: no interface \"{}\" (ENODEV)", what, d.interface);
    return r;
}

Result<void> Client::stop_sync_daemon(SyncRole role) {
    const std::string what = fmt::format("stop IPVS sync daemon {}", to_string(role));
    auto m = impl_->request(IPVS_CMD_DEL_DAEMON);
    if (!m) return m.error();
    if (int e = detail::put_sync_role(m->get(), role); e < 0)
        return make_error(ENOMEM, "{}: {}", what, nl_geterror(e));
    auto r = impl_->exchange(m->get(), false, what, [](const nlmsghdr*) -> Result<void> { return {}; });
    if (!r && r.error().code == ESRCH)
        return make_error(ESRCH, "{}: no {} sync daemon is running (ESRCH)", what, to_string(role));
    return r;
}

Result<std::vector<SyncDaemon>> Client::sync_daemons() {
    return detail::retry_lost_dump([&] { return sync_daemons_once(); });
}

Result<std::vector<SyncDaemon>> Client::sync_daemons_once() {
    auto m = impl_->request(IPVS_CMD_GET_DAEMON);
    if (!m) return m.error();
    std::vector<SyncDaemon> out;
    auto r = impl_->exchange(m->get(), true, "dump IPVS sync daemons", [&](const nlmsghdr* h) -> Result<void> {
        auto msg = detail::decode(h, "dump IPVS sync daemons");
        if (!msg) return msg.error();
        if (msg->daemon) out.push_back(std::move(*msg->daemon));
        return {};
    });
    if (!r) return r.error();
    return out;
}

}  // namespace lvsd::ipvs
