#include "daemon/bird_watch.hpp"

#include <cerrno>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/metrics.hpp"

// GCC 12's false positive on Asio's coroutine frames (GCC bug 109224), as in
// healthcheck/probe.cpp: it fires in the ASan build (-O1).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace lvsd::daemon {
namespace asio = boost::asio;
using announce::BirdView;

namespace {

bool is_bgp(const announce::BirdProtocol& p) { return p.proto == "BGP"; }

const std::vector<Prefix>* exports_of(const BirdView& v, const std::string& name) {
    auto it = v.exported.find(name);
    return it == v.exported.end() ? nullptr : &it->second;
}

std::string join_prefixes(const std::vector<Prefix>& ps) {
    std::string out;
    for (const auto& p : ps) out += (out.empty() ? "" : " ") + fmt::format("{}", p);
    return out;
}

}  // namespace

std::vector<std::string> bird_status_lines(const BirdWatchState& s) {
    std::vector<std::string> out;
    if (s.reads == 0) {
        out.push_back(fmt::format("BIRD at {}: not read yet", s.socket));
        return out;
    }
    if (s.error) {
        out.push_back(fmt::format("BIRD at {}: unreachable: {}", s.socket, *s.error));
        if (!s.view) return out;
        out.push_back("  last seen:");
    } else {
        out.push_back(fmt::format("BIRD {} at {}: up", s.view->version, s.socket));
    }
    for (const auto& p : s.view->protocols) {
        if (!is_bgp(p)) continue;
        std::string line = fmt::format("  {} BGP {}{}", p.name, p.state, p.info.empty() ? "" : " " + p.info);
        if (const auto* e = exports_of(*s.view, p.name))
            line += e->empty() ? ", exports nothing" : ", exports " + join_prefixes(*e);
        out.push_back(std::move(line));
    }
    for (const auto& b : s.view->bfd)
        out.push_back(fmt::format("  bfd {} on {} {} (detection {} s)", b.address, b.interface, b.state, b.timeout));
    return out;
}

std::string bird_status_json(const BirdWatchState& s) {
    using nlohmann::json;
    json j;
    j["socket"] = s.socket;
    j["up"] = s.up();
    j["error"] = s.error ? json(*s.error) : json(nullptr);
    j["version"] = s.view ? json(s.view->version) : json(nullptr);
    json protocols = json::array();
    json bfd = json::array();
    if (s.view) {
        for (const auto& p : s.view->protocols) {
            json e{{"name", p.name}, {"proto", p.proto}, {"table", p.table},
                   {"state", p.state}, {"since", p.since}, {"info", p.info}};
            if (is_bgp(p)) {
                json nets = json::array();
                if (const auto* x = exports_of(*s.view, p.name))
                    for (const auto& n : *x) nets.push_back(fmt::format("{}", n));
                e["exported"] = std::move(nets);
            }
            protocols.push_back(std::move(e));
        }
        for (const auto& b : s.view->bfd)
            bfd.push_back(json{{"protocol", b.protocol}, {"address", b.address.to_string()},
                               {"interface", b.interface}, {"state", b.state},
                               {"interval_s", b.interval}, {"timeout_s", b.timeout}});
    }
    j["protocols"] = std::move(protocols);
    j["bfd"] = std::move(bfd);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string bird_metrics(const BirdWatchState& s) {
    std::string out;
    auto family = [&](std::string_view name, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
    };
    family("lvsd_bird_up", "Whether the last read of BIRD's control socket succeeded.");
    out += fmt::format("lvsd_bird_up {}\n", s.up() ? 1 : 0);
    family("lvsd_bird_protocol_up", "Whether a BIRD protocol is up (a BGP session: Established).");
    if (s.view)
        for (const auto& p : s.view->protocols)
            out += fmt::format("lvsd_bird_protocol_up{{name=\"{}\",proto=\"{}\"}} {}\n",
                               escape_label_value(p.name), escape_label_value(p.proto),
                               (is_bgp(p) ? p.established() : p.up()) ? 1 : 0);
    family("lvsd_bird_exported_route", "A network a BIRD BGP protocol exports to its peer.");
    if (s.view)
        for (const auto& [proto, nets] : s.view->exported)
            for (const auto& n : nets)
                out += fmt::format("lvsd_bird_exported_route{{protocol=\"{}\",prefix=\"{}\"}} 1\n",
                                   escape_label_value(proto), n);
    family("lvsd_bird_bfd_session_up", "Whether a BIRD BFD session is Up.");
    if (s.view)
        for (const auto& b : s.view->bfd)
            out += fmt::format("lvsd_bird_bfd_session_up{{address=\"{}\",interface=\"{}\"}} {}\n",
                               b.address, escape_label_value(b.interface), b.up() ? 1 : 0);
    return out;
}

std::vector<Prefix> still_exported(const BirdView& view, const std::vector<Prefix>& prefixes) {
    std::vector<Prefix> out;
    for (const auto& p : prefixes) {
        bool found = false;
        for (const auto& [proto, nets] : view.exported)
            for (const auto& n : nets) found = found || n == p;
        if (found) out.push_back(p);
    }
    return out;
}

struct BirdWatch::Inner {
    BirdWatchState state;
    std::chrono::milliseconds interval;
    std::chrono::milliseconds timeout;
    bool running = false;
    std::optional<asio::steady_timer> timer;

    asio::awaitable<void> read_once() {
        auto r = co_await announce::read_bird_view(state.socket, timeout);
        ++state.reads;
        state.read_at = std::chrono::steady_clock::now();
        if (r) {
            state.view = std::move(*r);
            state.error.reset();
        } else {
            ++state.failures;
            state.error = r.error().message;
        }
    }
};

BirdWatch::BirdWatch(asio::io_context& io, std::string socket_path, std::chrono::milliseconds interval,
                     std::chrono::milliseconds timeout)
    : io_(io), inner_(std::make_shared<Inner>()) {
    inner_->state.socket = std::move(socket_path);
    inner_->interval = interval;
    inner_->timeout = timeout;
}

BirdWatch::~BirdWatch() { stop(); }

void BirdWatch::start() {
    if (inner_->running) return;
    inner_->running = true;
    inner_->timer.emplace(io_);
    // The coroutine owns a reference: stop() may come while a read is under way.
    asio::co_spawn(io_, [in = inner_]() -> asio::awaitable<void> {
        while (in->running) {
            co_await in->read_once();
            if (!in->running) break;
            in->timer->expires_after(in->interval);
            auto [ec] = co_await in->timer->async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
        }
    }, asio::detached);
}

void BirdWatch::stop() {
    inner_->running = false;
    if (inner_->timer) inner_->timer->cancel();
}

const BirdWatchState& BirdWatch::state() const { return inner_->state; }

asio::awaitable<Result<void>> BirdWatch::wait_until_withdrawn(std::vector<Prefix> prefixes,
                                                             std::chrono::milliseconds timeout) {
    auto in = inner_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        co_await in->read_once();
        std::vector<Prefix> left = prefixes;
        if (in->state.up()) {
            left = still_exported(*in->state.view, prefixes);
            if (left.empty()) co_return Result<void>{};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            if (!in->state.up())
                co_return make_error(ETIMEDOUT, "BIRD did not confirm the withdrawal of {} within {} ms: {}",
                                     join_prefixes(prefixes), timeout.count(), *in->state.error);
            std::string where;
            for (const auto& [proto, nets] : in->state.view->exported)
                for (const auto& n : nets)
                    for (const auto& p : left)
                        if (n == p) where += fmt::format("{}{} to {}", where.empty() ? "" : ", ", p, proto);
            co_return make_error(ETIMEDOUT, "BIRD still exports {} after {} ms", where, timeout.count());
        }
        timer.expires_after(std::chrono::milliseconds(100));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;
    }
}

}  // namespace lvsd::daemon
