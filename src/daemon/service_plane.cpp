#include "daemon/service_plane.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/desired.hpp"

namespace lvsd::daemon {

namespace {

std::chrono::milliseconds ms(config::Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

std::vector<healthcheck::StatusRange> ranges(const config::StatusCodes& codes) {
    std::vector<healthcheck::StatusRange> out;
    for (auto [low, high] : codes) out.push_back({low, high});
    return out;
}

std::string json_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", c);
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

healthcheck::CheckSpec check_spec(const config::VirtualServer& vs, const config::RealServer& rs,
                                  const config::HealthCheck& hc) {
    healthcheck::CheckSpec spec;
    spec.address = hc.connect_ip;
    spec.port = hc.connect_port != 0 ? hc.connect_port : rs.port;
    spec.bindto = hc.bindto;
    spec.connect_timeout = ms(hc.connect_timeout);
    spec.rise = hc.rise;
    spec.fall = hc.fall;
    spec.initial = vs.alpha ? healthcheck::InitialState::DownUntilFirstSuccess
                            : healthcheck::InitialState::Up;
    spec.delay_loop = ms(hc.delay_loop);
    spec.delay_before_retry = ms(hc.delay_before_retry);
    if (const auto* http = std::get_if<config::HttpProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Http;
        spec.path = http->path;
        spec.virtualhost = http->virtualhost;
        spec.status_code = ranges(http->status_code);
        spec.body_contains = http->body_contains;
    } else if (const auto* proxy = std::get_if<config::ProxyProbe>(&hc.probe)) {
        spec.type = healthcheck::CheckType::Proxy;
        spec.proxy_url = proxy->url;
        spec.status_code = ranges(proxy->status_code);
    } else {
        spec.type = healthcheck::CheckType::Tcp;
    }
    return spec;
}

ServicePlane::ServicePlane(boost::asio::any_io_executor executor,
                           std::unique_ptr<ipvs::Backend> backend)
    : backend_(std::move(backend)),
      reconciler_(*backend_),
      monitor_(executor, [this](const healthcheck::HealthEvent& e) { on_health(e); }),
      periodic_(executor) {}

ServicePlane::~ServicePlane() = default;

Result<void> ServicePlane::apply(std::shared_ptr<const config::Config> config) {
    std::vector<healthcheck::CheckSpec> specs;
    for (const auto& vs : config->virtual_servers)
        for (const auto& rs : vs.real_servers) {
            if (!rs.check) continue;
            if (rs.check->bind_port)
                spdlog::warn("{}:{}: bind_port is not supported by the health checker yet; "
                             "the kernel picks the source port",
                             rs.check->where.file, rs.check->where.line);
            specs.push_back(check_spec(vs, rs, *rs.check));
        }
    if (auto r = monitor_.update(specs); !r) return r;
    config_ = std::move(config);
    rebuild_desired();
    reconcile("configuration applied");
    arm_periodic();
    return {};
}

bool ServicePlane::is_up(const config::VirtualServer& vs, const config::RealServer& rs) const {
    auto status = monitor_.status(healthcheck::check_key(check_spec(vs, rs, *rs.check)));
    return status && status->health == healthcheck::Health::Up;
}

void ServicePlane::rebuild_desired() {
    reconciler_.set_desired(desired_table(
        *config_, [this](const auto& vs, const auto& rs) { return is_up(vs, rs); }));
}

void ServicePlane::on_health(const healthcheck::HealthEvent& e) {
    // One line per transition; the real servers sharing this check are named once each.
    std::vector<std::string> users;
    for (const auto& vs : config_->virtual_servers)
        for (const auto& rs : vs.real_servers)
            if (rs.check && healthcheck::check_key(check_spec(vs, rs, *rs.check)) == e.key)
                users.push_back(fmt::format("{} -> {}", config::service_name(vs),
                                            format_endpoint(rs.address, rs.port)));
    spdlog::log(e.transition.to == healthcheck::Health::Up ? spdlog::level::info
                                                           : spdlog::level::warn,
                "real server {} ({})", e, fmt::join(users, ", "));
    rebuild_desired();
    reconcile("health change");
}

void ServicePlane::reconcile(std::string_view why) {
    auto report = reconciler_.reconcile();
    ++reconciles_;
    if (!report) {
        spdlog::error("IPVS reconcile ({}): {}", why, report.error().message);
        return;
    }
    ops_sent_ += report->ops_sent;
    ops_failed_ += report->ops_failed;
    for (const auto& e : report->errors) spdlog::error("IPVS: {}", e.message);
    if (report->ops_sent > 0)
        spdlog::info("IPVS reconcile ({}): {} operation{} sent, {} failed", why,
                     report->ops_sent, report->ops_sent == 1 ? "" : "s", report->ops_failed);
}

void ServicePlane::arm_periodic() {
    // Repairs changes made behind lvsd's back (ipvsadm -C, another tool); re-armed on
    // every apply so a new reconcile_interval takes effect at once.
    periodic_.expires_after(config_->global.reconcile_interval);
    periodic_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        reconcile("periodic");
        arm_periodic();
    });
}

std::string ServicePlane::status_text() const {
    std::string out = fmt::format("IPVS: {} reconciles, {} operations sent, {} failed\n",
                                  reconciles_, ops_sent_, ops_failed_);
    const auto& kernel = reconciler_.kernel();
    for (const auto& vs : config_->virtual_servers) {
        auto key = service_key(vs);
        auto in_kernel = kernel.find(key);
        out += fmt::format("{} {} {}{}\n", config::service_name(vs), vs.lb_algo,
                           config::to_string(vs.lb_kind),
                           in_kernel == kernel.end() ? "  (not in the kernel table)" : "");
        for (const auto& rs : vs.real_servers) {
            auto dkey = destination_key(rs);
            std::string weight = "-";
            if (in_kernel != kernel.end())
                if (auto d = in_kernel->second.destinations.find(dkey);
                    d != in_kernel->second.destinations.end())
                    weight = std::to_string(d->second.weight);
            std::string health = "up (no check)", last;
            if (rs.check) {
                auto st = monitor_.status(healthcheck::check_key(check_spec(vs, rs, *rs.check)));
                health = st && st->health == healthcheck::Health::Up ? "up" : "down";
                if (st && st->last)
                    last = fmt::format("  last {}: {} in {:.1f} ms", config::check_name(*rs.check),
                                       st->last->reason, st->last->latency.count() / 1000.0);
            }
            out += fmt::format("  -> {:<24} {:<14} weight {:<5}{}\n",
                               format_endpoint(rs.address, rs.port), health, weight, last);
        }
    }
    return out;
}

std::string ServicePlane::status_json() const {
    std::vector<std::string> services;
    const auto& kernel = reconciler_.kernel();
    for (const auto& vs : config_->virtual_servers) {
        auto in_kernel = kernel.find(service_key(vs));
        std::vector<std::string> reals;
        for (const auto& rs : vs.real_servers) {
            std::optional<uint32_t> weight;
            if (in_kernel != kernel.end())
                if (auto d = in_kernel->second.destinations.find(destination_key(rs));
                    d != in_kernel->second.destinations.end())
                    weight = d->second.weight;
            bool up = true;
            std::string last = "null";
            if (rs.check) {
                auto st = monitor_.status(healthcheck::check_key(check_spec(vs, rs, *rs.check)));
                up = st && st->health == healthcheck::Health::Up;
                if (st && st->last)
                    last = fmt::format(R"({{"ok":{},"reason":"{}","latency_us":{}}})",
                                       st->last->ok, json_escape(st->last->reason),
                                       st->last->latency.count());
            }
            reals.push_back(fmt::format(
                R"({{"address":"{}","port":{},"healthy":{},"checked":{},"weight":{},"last_probe":{}}})",
                rs.address.to_string(), rs.port, up, rs.check.has_value(),
                weight ? std::to_string(*weight) : "null", last));
        }
        services.push_back(fmt::format(R"({{"service":"{}","scheduler":"{}","in_kernel":{},"real_servers":[{}]}})",
                                       json_escape(config::service_name(vs)), vs.lb_algo,
                                       in_kernel != kernel.end(), fmt::join(reals, ",")));
    }
    return fmt::format(R"({{"reconciles":{},"ops_sent":{},"ops_failed":{},"virtual_services":[{}]}})",
                       reconciles_, ops_sent_, ops_failed_, fmt::join(services, ","));
}

}  // namespace lvsd::daemon
