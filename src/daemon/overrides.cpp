#include "daemon/overrides.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/state_file.hpp"
#include "ctl/request.hpp"

namespace lvsd::daemon {

namespace {

// Longer lines are not ours (the longest real line is well under 200 bytes).
constexpr size_t kMaxLine = 512;

int64_t seconds_of(OverrideClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        size_t end = std::min(line.find(' ', i), line.size());
        out.push_back(line.substr(i, end - i));
        i = end;
    }
    return out;
}

std::optional<int64_t> integer(std::string_view t, int64_t min, int64_t max) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || v < min || v > max) return std::nullopt;
    return v;
}

std::string drain_words(const Drain& d) {
    std::string out = "drain";
    if (d.deadline) out += fmt::format(" until={}", seconds_of(*d.deadline));
    if (d.done) out += " done";
    if (d.balancer) out += " balancer";
    return out;
}

// "drain [until=S] [done] [balancer]" from the words after "drain"; the error names the word.
Result<Drain> parse_drain(const std::vector<std::string_view>& w, size_t from, bool balancer_line) {
    Drain d;
    for (size_t i = from; i < w.size(); ++i) {
        if (w[i].starts_with("until=") && !d.deadline) {
            auto s = integer(w[i].substr(6), 0, int64_t{1} << 40);
            if (!s) return make_error(0, "\"{}\" is not until=SECONDS", w[i]);
            d.deadline = OverrideClock::time_point(std::chrono::seconds(*s));
        } else if (w[i] == "done" && !d.done && !balancer_line) {
            d.done = true;
        } else if (w[i] == "balancer" && !d.balancer && !balancer_line) {
            d.balancer = true;
        } else {
            return make_error(0, "unexpected \"{}\"", w[i]);
        }
    }
    return d;
}

Result<void> parse_line(std::string_view line, Overrides& o) {
    auto w = words_of(line);
    if (w[0] == "real") {
        if (w.size() < 4) return make_error(0, "expected: real SERVICE REAL drain|disable|weight ...");
        auto service = ctl::parse_service(w[1]);
        if (!service) return make_error(0, "\"{}\" is not a virtual service", w[1]);
        auto real = ctl::parse_real(w[2]);
        if (!real) return make_error(0, "\"{}\" is not a real server", w[2]);
        RealServerOverride next = [&] {
            auto it = o.real_servers.find({*service, *real});
            return it == o.real_servers.end() ? RealServerOverride{} : it->second;
        }();
        if (w[3] == "drain") {
            if (next.drain) return make_error(0, "a second drain of {} {}", w[1], w[2]);
            auto d = parse_drain(w, 4, false);
            if (!d) return d.error();
            next.drain = *d;
        } else if (w[3] == "disable" && w.size() == 4) {
            next.disabled = true;
        } else if (w[3] == "weight" && w.size() == 5) {
            auto v = integer(w[4], 0, ctl::kMaxWeight);
            if (!v) return make_error(0, "\"{}\" is not a weight from 0 to {}", w[4], ctl::kMaxWeight);
            next.weight = static_cast<uint32_t>(*v);
        } else {
            return make_error(0, "expected drain, disable or weight N after the real server, got \"{}\"",
                              fmt::join(w.begin() + 3, w.end(), " "));
        }
        o.real_servers[{*service, *real}] = next;
        return {};
    }
    if (w[0] == "balancer") {
        if (w.size() < 2 || w[1] != "drain") return make_error(0, "expected: balancer drain [until=SECONDS]");
        if (o.balancer_drain) return make_error(0, "a second balancer drain");
        auto d = parse_drain(w, 2, true);
        if (!d) return d.error();
        d->balancer = true;
        o.balancer_drain = *d;
        return {};
    }
    if (w[0] == "vrrp_instance" || w[0] == "vrrp_sync_group") {
        if (w.size() != 3 || (w[2] != "failover" && w[2] != "hold"))
            return make_error(0, "expected: {} NAME failover|hold", w[0]);
        auto& map = w[0] == "vrrp_instance" ? o.vrrp_instances : o.vrrp_groups;
        map[std::string(w[1])] = w[2] == "failover" ? VrrpOverride::Failover : VrrpOverride::Hold;
        return {};
    }
    return make_error(0, "unknown override \"{}\"", w[0]);
}


}  // namespace

std::string overrides_file_for(const std::string& control_socket) {
    return std::filesystem::path(control_socket).replace_extension(".overrides").string();
}

std::string format_overrides(const Overrides& o) {
    std::string out = "# Operator overrides (lvsctl drain, disable, weight, failover, hold); read back at start. "
                      "Written by lvsd.\n";
    if (o.balancer_drain)
        out += "balancer " + drain_words(Drain{o.balancer_drain->deadline, false, false}) + "\n";
    for (const auto& [key, ov] : o.real_servers) {
        const auto head = fmt::format("real {} {}", ctl::format_service(key.service), ctl::format_real(key.real));
        if (ov.drain) out += fmt::format("{} {}\n", head, drain_words(*ov.drain));
        if (ov.disabled) out += head + " disable\n";
        if (ov.weight) out += fmt::format("{} weight {}\n", head, *ov.weight);
    }
    for (const auto& [name, v] : o.vrrp_instances)
        out += fmt::format("vrrp_instance {} {}\n", name, v == VrrpOverride::Failover ? "failover" : "hold");
    for (const auto& [name, v] : o.vrrp_groups)
        out += fmt::format("vrrp_sync_group {} {}\n", name, v == VrrpOverride::Failover ? "failover" : "hold");
    return out;
}

OverridesRead parse_overrides(std::string_view text, const std::string& name) {
    OverridesRead out;
    size_t n = 0;
    while (!text.empty()) {
        ++n;
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.size() > kMaxLine) {
            out.problems.push_back(fmt::format("{}:{}: line of {} bytes (at most {})", name, n, line.size(), kMaxLine));
            continue;
        }
        if (line.find_first_not_of(' ') == std::string_view::npos || line.front() == '#') continue;
        if (auto r = parse_line(line, out.overrides); !r)
            out.problems.push_back(fmt::format("{}:{}: {}", name, n, r.error().message));
    }
    return out;
}

OverridesRead read_overrides(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return {};
    std::ifstream in(path);
    if (!in) {
        OverridesRead out;
        out.problems.push_back(fmt::format("{}: cannot be read: {}", path, std::strerror(errno)));
        return out;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_overrides(text.str(), path);
}

Result<void> write_overrides(const std::string& path, const Overrides& o) {
    return replace_file(path, format_overrides(o));
}

OverrideStore::OverrideStore(std::string path) : path_(std::move(path)) {
    if (path_.empty()) return;
    auto read = read_overrides(path_);
    for (const auto& p : read.problems) spdlog::warn("{} (skipped)", p);
    overrides_ = std::move(read.overrides);
    if (!overrides_.empty())
        spdlog::info("operator overrides of the previous run: {} real server{}{}{} ({})",
                     overrides_.real_servers.size(), overrides_.real_servers.size() == 1 ? "" : "s",
                     overrides_.balancer_drain ? ", the balancer drained" : "",
                     overrides_.vrrp_instances.size() + overrides_.vrrp_groups.size() > 0 ? ", VRRP failover/hold" : "",
                     path_);
}

Result<void> OverrideStore::commit(Overrides next) {
    if (next == overrides_) return {};
    if (!path_.empty())
        if (auto w = write_overrides(path_, next); !w)
            return make_error(w.error().code, "cannot keep the overrides, nothing changed: {}", w.error().message);
    overrides_ = std::move(next);
    return {};
}

void OverrideStore::update(Overrides next) {
    if (next == overrides_) return;
    overrides_ = std::move(next);
    if (path_.empty()) return;
    if (auto w = write_overrides(path_, overrides_); !w)
        spdlog::error("operator overrides: {} (kept in memory; the next change writes them again)", w.error().message);
}

}  // namespace lvsd::daemon
