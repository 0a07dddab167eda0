#include "daemon/announce_plane.hpp"

#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace lvsd::daemon {

using namespace std::chrono_literals;

namespace {

// While a VIP waits for its services' first verdicts, the plan runs this often (the
// checker reports transitions only, and a first result that confirms the initial state
// is none).
constexpr auto kVerdictPoll = 200ms;

std::string host_route(const IpAddress& a) { return fmt::format("{}/{}", a, a.is_v4() ? 32 : 128); }

}  // namespace

std::vector<announce::Vip> announced_vips(const config::Config& config) {
    std::vector<announce::Vip> out;
    std::map<IpAddress, std::size_t> at;
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce || vs.fwmark) continue;
        auto [it, fresh] = at.emplace(vs.address, out.size());
        if (fresh) out.push_back({vs.address, {}});
        out[it->second].services.push_back({config::service_name(vs), std::nullopt});
    }
    return out;
}

AnnouncePlane::AnnouncePlane(asio::any_io_executor executor) : executor_(executor), timer_(executor) {}

AnnouncePlane::~AnnouncePlane() = default;

Result<void> AnnouncePlane::check_against_host(const config::Config& config) {
    if (announced_vips(config).empty()) return {};
    const auto& a = config.global.announce;
    if (::if_nametoindex(a.interface.c_str()) == 0)
        return make_error(ENODEV, "{}:{}: global_defs.announce_interface {} does not exist on this host", a.where.file,
                          a.where.line, a.interface);
    return {};
}

Result<void> AnnouncePlane::apply(std::shared_ptr<const config::Config> config) {
    auto vips = announced_vips(*config);
    const auto& a = config->global.announce;
    const announce::Table table{a.table, a.protocol, a.interface};
    if (!opened_ && vips.empty()) {  // nothing announced, never was: touch nothing
        config_ = std::move(config);
        return {};
    }
    const bool first = !opened_;
    if (first) {
        if (auto r = routes_.open(); !r) return r;
        opened_ = true;
        // Adoption: the routes an earlier run left stay until their first verdicts.
        if (auto found = routes_.dump(table)) {
            announced_ = announce::adopt(*found, vips);
            installed_ = *found;
            if (!found->empty())
                spdlog::info("announce: found {} route{} of protocol {} in table {}; adopted those of announced VIPs ({})",
                             found->size(), found->size() == 1 ? "" : "s", table.protocol, table.table,
                             fmt::join(announced_, ", "));
        } else {
            spdlog::error("announce: {}", found.error().message);
        }
        watch();
    } else if (!(table == table_)) {
        // Another table, protocol or interface: what the old one holds goes first.
        if (auto old = routes_.dump(table_)) {
            for (const auto& r : *old)
                if (auto d = routes_.remove(table_, r); !d) spdlog::error("announce: {}", d.error().message);
            spdlog::info("announce: moved from table {} protocol {} dev {} to table {} protocol {} dev {}", table_.table,
                         table_.protocol, table_.interface, table.table, table.protocol, table.interface);
        }
        installed_.clear();
    }
    // VIPs no longer announced (or announced on another interface now) lose their
    // address there: it was lvsd's to keep.
    std::set<IpAddress> next;
    for (const auto& v : vips) next.insert(v.address);
    if (!first)
        for (const auto& v : vips_) {
            if (table.interface == table_.interface && next.contains(v.address)) continue;
            if (auto r = routes_.remove_address(table_.interface, v.address); !r)
                spdlog::error("announce: {}", r.error().message);
            else
                spdlog::info("announce: {} is no longer announced on {}: removed from it", v.address, table_.interface);
        }
    config_ = std::move(config);
    table_ = table;
    vips_ = std::move(vips);
    addresses_.clear();
    update("configuration applied");
    return {};
}

void AnnouncePlane::set_drained(bool drained) {
    if (drained == drained_) return;
    drained_ = drained;
    if (opened_) update(drained ? "balancer drained" : "balancer undrained");
}

bool AnnouncePlane::waiting_for_verdicts() const {
    for (const auto& v : vips_)
        for (const auto& s : v.services)
            if (!s.quorum) return true;
    return false;
}

void AnnouncePlane::update(std::string_view why) {
    if (!opened_ || stopped_) return;
    // The verdicts of now, by service name (a group's entries share their pool's).
    std::map<std::string, AnnounceVerdict> verdict;
    for (const auto& vs : config_->virtual_servers)
        if (vs.announce && !vs.fwmark) verdict[config::service_name(vs)] = verdicts_ ? verdicts_(vs) : AnnounceVerdict{};
    for (auto& v : vips_)
        for (auto& s : v.services) {
            s.quorum = verdict[s.name].quorum;
            s.takes_new_connections = verdict[s.name].takes_new_connections;
        }
    auto p = announce::plan({vips_, drained_, announced_});
    for (const auto& d : p.decisions) {
        auto before = std::find_if(decisions_.begin(), decisions_.end(), [&](auto& x) { return x.address == d.address; });
        if (before != decisions_.end() && before->state == d.state) continue;
        if (before == decisions_.end() && d.state == announce::State::Withdrawn && !installed_.contains(d.address)) {
            spdlog::info("announce: {} not announced yet: {}", d.address, d.why);
            continue;
        }
        spdlog::log(d.state == announce::State::Announced ? spdlog::level::info : spdlog::level::warn, "announce: {} {}: {}",
                    d.address, announce::to_string(d.state), d.why);
    }
    announced_ = std::move(p.desired);
    decisions_ = std::move(p.decisions);
    reconcile(why);
    arm_timer();
}

void AnnouncePlane::reconcile(std::string_view why) {
    if (!opened_ || stopped_) return;
    auto observed = routes_.dump(table_);
    if (!observed) {
        if (problem_ != observed.error().message) spdlog::error("announce: {}", observed.error().message);
        problem_ = observed.error().message;
        return;
    }
    std::string problem;
    for (const auto& op : announce::diff(announced_, *observed)) {
        const bool add = op.kind == announce::OpKind::Add;
        if (add && installed_.contains(op.address)) {
            ++repairs_;
            spdlog::warn("announce: the route {} was removed from table {} behind lvsd's back; adding it again",
                         host_route(op.address), table_.table);
        } else if (!add && !installed_.contains(op.address)) {
            ++repairs_;
            spdlog::warn("announce: the route {} of protocol {} in table {} was added behind lvsd's back; removing it",
                         host_route(op.address), table_.protocol, table_.table);
        }
        auto r = add ? routes_.add(table_, op.address) : routes_.remove(table_, op.address);
        if (!r) {
            problem = r.error().message;
            spdlog::error("announce: {} ({})", r.error().message, why);
            if (!add) observed->erase(op.address);  // as far as we know, it is still there
            continue;
        }
        spdlog::debug("announce: {} {} ({})", add ? "added" : "deleted", host_route(op.address), why);
        if (add) observed->insert(op.address);
        else observed->erase(op.address);
    }
    installed_ = std::move(*observed);
    // Every announced VIP is a local address of the interface, announced or not.
    if (auto have = routes_.addresses(table_.interface)) {
        std::set<IpAddress> now;
        for (const auto& v : vips_) {
            if (have->contains(v.address)) {
                now.insert(v.address);
                continue;
            }
            if (addresses_.contains(v.address)) {
                ++repairs_;
                spdlog::warn("announce: {} was removed from {} behind lvsd's back; adding it again", v.address,
                             table_.interface);
            }
            if (auto r = routes_.add_address(table_.interface, v.address); !r) {
                problem = r.error().message;
                spdlog::error("announce: {}", r.error().message);
            } else {
                now.insert(v.address);
            }
        }
        addresses_ = std::move(now);
    } else if (!vips_.empty()) {
        problem = have.error().message;
        if (problem_ != problem) spdlog::error("announce: {}", problem);
    }
    problem_ = problem;
}

void AnnouncePlane::watch() {
    const int fd = ::dup(routes_.events_fd());
    if (fd < 0) {
        spdlog::error("announce: cannot watch route changes: {}", std::strerror(errno));
        return;
    }
    events_.emplace(executor_, fd);
    wait_for_events();
}

void AnnouncePlane::wait_for_events() {
    events_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        if (routes_.drain_events(table_)) reconcile("a change on the host");
        wait_for_events();
    });
}

void AnnouncePlane::arm_timer() {
    const auto every = waiting_for_verdicts() ? std::chrono::duration_cast<config::Duration>(kVerdictPoll)
                                              : config_->global.reconcile_interval;
    timer_.expires_after(every);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        update(waiting_for_verdicts() ? "waiting for first verdicts" : "periodic reconcile");
    });
}

void AnnouncePlane::stop() {
    if (!opened_ || stopped_) return;
    timer_.cancel();
    if (events_) events_->cancel();
    auto observed = routes_.dump(table_);
    std::size_t n = 0;
    if (observed)
        for (const auto& r : *observed) {
            if (auto d = routes_.remove(table_, r); !d) spdlog::error("announce: {}", d.error().message);
            else ++n;
        }
    installed_.clear();
    stopped_ = true;
    spdlog::info("announce: withdrew {} route{} from table {} on the way out (BIRD withdraws them from its peers); the VIP "
                 "addresses stay on {} for the flows still arriving",
                 n, n == 1 ? "" : "s", table_.table, table_.interface);
}

void AnnouncePlane::withdraw_leftovers(const config::Config& config) {
    if (opened_) return;  // running: the plan owns the table
    const auto& a = config.global.announce;
    const announce::Table table{a.table, a.protocol, a.interface};
    announce::Routes routes;
    if (auto r = routes.open(); !r) {
        spdlog::error("announce: {}", r.error().message);
        return;
    }
    auto found = routes.dump(table);
    if (!found) {
        spdlog::error("announce: {}", found.error().message);
        return;
    }
    for (const auto& r : *found)
        if (auto d = routes.remove(table, r); !d) spdlog::error("announce: {}", d.error().message);
        else spdlog::warn("announce: withdrew {} (left in table {} by an earlier run): nothing is started", host_route(r), table.table);
}

std::optional<AnnounceStatus> AnnouncePlane::status() const {
    if (vips_.empty() && !opened_) return std::nullopt;
    if (vips_.empty() && installed_.empty()) return std::nullopt;
    AnnounceStatus s;
    s.table = table_.table;
    s.protocol = table_.protocol;
    s.interface = table_.interface;
    s.drained = drained_;
    s.problem = problem_;
    s.repairs = repairs_;
    for (const auto& d : decisions_)
        s.vips.push_back({d.address.to_string(), std::string(announce::to_string(d.state)), d.why,
                          installed_.contains(d.address), addresses_.contains(d.address)});
    return s;
}

std::string AnnouncePlane::status_text() const {
    auto s = status();
    if (!s) return "";
    std::string out = fmt::format("Announced VIPs: table {}, protocol {}, dev {}{}{}\n", s->table, s->protocol, s->interface,
                                  s->drained ? "  (balancer drained)" : "",
                                  s->repairs ? fmt::format("  ({} repaired)", s->repairs) : "");
    for (const auto& v : s->vips)
        out += fmt::format("  {:<20} {:<10} {}{}{}\n", v.vip, v.state, v.why,
                           v.route != (v.state == "announced") ? (v.route ? "  [route still in the table]" : "  [route not in the table yet]") : "",
                           v.address ? "" : fmt::format("  [not an address of {}]", s->interface));
    if (!s->problem.empty()) out += fmt::format("  problem: {}\n", s->problem);
    return out;
}

std::vector<Prefix> AnnouncePlane::prefixes() const {
    std::vector<Prefix> out;
    for (const auto& v : vips_) out.push_back({v.address, static_cast<uint8_t>(v.address.is_v4() ? 32 : 128)});
    return out;
}

std::vector<Prefix> AnnouncePlane::installed() const {
    std::vector<Prefix> out;
    for (const auto& a : installed_) out.push_back({a, static_cast<uint8_t>(a.is_v4() ? 32 : 128)});
    return out;
}

}  // namespace lvsd::daemon
