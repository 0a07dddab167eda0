#include "ctl/request.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace lvsd::ctl {

namespace {

std::optional<uint64_t> number(std::string_view t, uint64_t max) {
    uint64_t v = 0;
    if (t.empty() || t.size() > 20) return std::nullopt;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc{} || end != t.data() + t.size() || v > max) return std::nullopt;
    return v;
}

// "ADDRESS:PORT" or "[V6]:PORT"; a bare IPv6 address has colons of its own, so it needs
// the brackets.
std::optional<std::pair<IpAddress, uint16_t>> endpoint(std::string_view t) {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto host = t.substr(0, colon);
    auto port = number(t.substr(colon + 1), UINT16_MAX);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        if (host.find(':') == std::string_view::npos) return std::nullopt;
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;
    }
    auto address = parse_address(host);
    if (!address || !port) return std::nullopt;
    return std::pair{*address, static_cast<uint16_t>(*port)};
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

// The words of one request after its verb: options with their values, and the rest.
struct Words {
    std::vector<std::string_view> positional;
    bool balancer = false, clear = false;
    std::optional<std::string_view> timeout, group;
};

Result<Words> split_options(std::string_view verb, const std::vector<std::string_view>& words) {
    Words w;
    for (size_t i = 1; i < words.size(); ++i) {
        const auto word = words[i];
        auto value = [&](std::optional<std::string_view>& slot) -> Result<void> {
            if (slot) return make_error(0, "{}: {} is given twice", verb, word);
            if (i + 1 >= words.size() || words[i + 1].starts_with("--"))
                return make_error(0, "{}: {} needs a value", verb, word);
            slot = words[++i];
            return {};
        };
        if (word == "--balancer" || word == "--clear") {
            bool& flag = word == "--balancer" ? w.balancer : w.clear;
            if (flag) return make_error(0, "{}: {} is given twice", verb, word);
            flag = true;
        } else if (word == "--timeout") {
            if (auto r = value(w.timeout); !r) return r.error();
        } else if (word == "--group") {
            if (auto r = value(w.group); !r) return r.error();
        } else if (word.starts_with("--")) {
            return make_error(0, "{}: unknown option \"{}\"", verb, word);
        } else {
            w.positional.push_back(word);
        }
    }
    return w;
}

Result<void> refuse(std::string_view verb, bool given, std::string_view option) {
    if (given) return make_error(0, "{}: {} does not apply here", verb, option);
    return {};
}

// [SERVICE] REAL from the positional words.
Result<RealServerRef> real_server(std::string_view verb, const std::vector<std::string_view>& p) {
    if (p.empty()) return make_error(0, "{}: name a real server as ADDRESS:PORT (lvsctl status shows them)", verb);
    if (p.size() > 2) return make_error(0, "{}: unexpected \"{}\"", verb, p[2]);
    RealServerRef ref;
    if (p.size() == 2) {
        ref.service = parse_service(p[0]);
        if (!ref.service)
            return make_error(0, "{}: \"{}\" is not a virtual service (VIP:PORT/tcp|udp|sctp or fwmark:N)", verb, p[0]);
    }
    auto real = parse_real(p.back());
    if (!real) return make_error(0, "{}: \"{}\" is not a real server (ADDRESS:PORT, [IPV6]:PORT)", verb, p.back());
    ref.real = *real;
    return ref;
}

Result<DrainTarget> drain_target(std::string_view verb, const Words& w) {
    if (w.balancer) {
        if (!w.positional.empty())
            return make_error(0, "{}: --balancer names every real server: unexpected \"{}\"", verb, w.positional[0]);
        return DrainTarget{Balancer{}};
    }
    auto ref = real_server(verb, w.positional);
    if (!ref) return ref.error();
    return DrainTarget{*ref};
}

Result<Request> parse_words(const std::vector<std::string_view>& words) {
    if (words.empty()) return make_error(0, "empty request");
    const std::string_view verb = words[0];
    if (verb == "status") {
        if (words.size() == 1) return Request{StatusRequest{}};
        if (words.size() == 2 && words[1] == "json") return Request{StatusRequest{true}};
        return make_error(0, "status: unexpected \"{}\"", words.back());
    }
    if (verb == "reload") {
        if (words.size() == 1) return Request{ReloadRequest{}};
        return make_error(0, "reload: unexpected \"{}\"", words[1]);
    }
    const auto& verbs = request_verbs();
    if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end()) {
        std::string_view best;
        size_t best_distance = 3;  // suggest only a near miss
        for (auto v : verbs)
            if (auto d = edit_distance(verb, v); d < best_distance) best = v, best_distance = d;
        if (!best.empty()) return make_error(0, "unknown command \"{}\" (did you mean \"{}\"?)", verb, best);
        return make_error(0, "unknown command \"{}\"", verb);
    }
    auto w = split_options(verb, words);
    if (!w) return w.error();
    if (verb == "failover" || verb == "hold") {
        if (auto r = refuse(verb, w->balancer, "--balancer"); !r) return r.error();
        if (auto r = refuse(verb, w->timeout.has_value(), "--timeout"); !r) return r.error();
        VrrpRequest v;
        v.verb = verb == "failover" ? VrrpRequest::Verb::Failover : VrrpRequest::Verb::Hold;
        v.clear = w->clear;
        if (w->group) {
            if (!w->positional.empty())
                return make_error(0, "{}: name an instance or --group GROUP, not both (\"{}\")", verb, w->positional[0]);
            v.group = std::string(*w->group);
        } else if (w->positional.size() == 1) {
            v.instance = std::string(w->positional[0]);
        } else if (w->positional.empty()) {
            return make_error(0, "{}: name a vrrp_instance or --group GROUP", verb);
        } else {
            return make_error(0, "{}: unexpected \"{}\"", verb, w->positional[1]);
        }
        return Request{std::move(v)};
    }
    if (auto r = refuse(verb, w->group.has_value(), "--group"); !r) return r.error();
    if (verb != "drain")
        if (auto r = refuse(verb, w->timeout.has_value(), "--timeout"); !r) return r.error();
    if (verb != "weight")
        if (auto r = refuse(verb, w->clear, "--clear"); !r) return r.error();
    if (verb == "drain" || verb == "undrain" || verb == "progress") {
        auto target = drain_target(verb, *w);
        if (!target) return target.error();
        if (verb == "undrain") return Request{UndrainRequest{*target}};
        if (verb == "progress") return Request{ProgressRequest{*target}};
        DrainRequest d{*target, std::nullopt};
        if (w->timeout) {
            auto s = number(*w->timeout, kMaxDrainTimeoutSeconds);
            if (!s || *s == 0)
                return make_error(0, "drain: --timeout \"{}\" is not a number of seconds from 1 to {}", *w->timeout,
                                  kMaxDrainTimeoutSeconds);
            d.timeout_s = static_cast<uint32_t>(*s);
        }
        return Request{d};
    }
    if (auto r = refuse(verb, w->balancer, "--balancer"); !r) return r.error();
    if (verb == "disable" || verb == "enable") {
        auto ref = real_server(verb, w->positional);
        if (!ref) return ref.error();
        return Request{DisableRequest{*ref, verb == "disable"}};
    }
    // weight
    auto p = w->positional;
    WeightRequest out;
    if (!w->clear) {
        if (p.size() < 2) return make_error(0, "weight: name a real server and a weight (0 to {})", kMaxWeight);
        auto value = number(p.back(), kMaxWeight);
        if (!value) return make_error(0, "weight: \"{}\" is not a weight from 0 to {}", p.back(), kMaxWeight);
        out.weight = static_cast<uint32_t>(*value);
        p.pop_back();
    }
    auto ref = real_server(verb, p);
    if (!ref) return ref.error();
    out.target = *ref;
    return Request{out};
}

std::string target_words(const RealServerRef& r) {
    return r.service ? fmt::format("{} {}", format_service(*r.service), format_real(r.real)) : format_real(r.real);
}

std::string target_words(const DrainTarget& t) {
    if (std::holds_alternative<Balancer>(t)) return "--balancer";
    return target_words(std::get<RealServerRef>(t));
}

}  // namespace

std::string format_service(const ipvs::ServiceKey& key) {
    if (key.is_fwmark()) return fmt::format("fwmark:{}{}", key.fwmark, key.family == Family::V6 ? "/ipv6" : "");
    return fmt::format("{}/{}", format_endpoint(key.address, key.port), ipvs::to_string(key.protocol));
}

std::optional<ipvs::ServiceKey> parse_service(std::string_view word) {
    if (word.starts_with("fwmark:")) {
        word.remove_prefix(7);
        Family family = Family::V4;
        if (word.ends_with("/ipv6")) {
            family = Family::V6;
            word.remove_suffix(5);
        }
        auto mark = number(word, UINT32_MAX);
        if (!mark || *mark == 0) return std::nullopt;
        return ipvs::ServiceKey::mark(static_cast<uint32_t>(*mark), family);
    }
    auto slash = word.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto protocol = ipvs::parse_protocol(word.substr(slash + 1));
    auto ep = endpoint(word.substr(0, slash));
    if (!protocol || !ep) return std::nullopt;
    return ipvs::ServiceKey::endpoint(*protocol, ep->first, ep->second);
}

std::string format_real(const ipvs::DestinationKey& key) { return format_endpoint(key.address, key.port); }

std::optional<ipvs::DestinationKey> parse_real(std::string_view word) {
    auto ep = endpoint(word);
    if (!ep) return std::nullopt;
    return ipvs::DestinationKey{ep->first, ep->second};
}

const std::vector<std::string_view>& request_verbs() {
    static const std::vector<std::string_view> verbs{"status",  "reload", "drain",    "undrain", "disable",
                                                     "enable",  "weight", "progress", "failover", "hold"};
    return verbs;
}

Result<Request> parse_request(std::string_view line) {
    if (line.size() > kMaxRequestLine)
        return make_error(0, "request of {} bytes refused (at most {})", line.size(), kMaxRequestLine);
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < line.size()) {
        const unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == ' ') {
            ++i;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return make_error(0, "control character 0x{:02x} at byte {} of the request", c, i + 1);
        size_t end = line.find(' ', i);
        if (end == std::string_view::npos) end = line.size();
        words.push_back(line.substr(i, end - i));
        i = end;
    }
    // Control characters inside a word were skipped by find(): check every word.
    for (auto w : words)
        for (size_t k = 0; k < w.size(); ++k)
            if (auto c = static_cast<unsigned char>(w[k]); c < 0x20 || c == 0x7f)
                return make_error(0, "control character 0x{:02x} in \"{}\"", c, w.substr(0, k));
    return parse_words(words);
}

Result<Request> parse_request(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& w : words) {
        if (w.empty() || w.find(' ') != std::string::npos)
            return make_error(0, "\"{}\" is not one word", w);
        if (!line.empty()) line += ' ';
        line += w;
    }
    return parse_request(std::string_view(line));
}

std::string format_request(const Request& r) {
    struct Visitor {
        std::string operator()(const StatusRequest& s) const { return s.json ? "status json" : "status"; }
        std::string operator()(const ReloadRequest&) const { return "reload"; }
        std::string operator()(const DrainRequest& d) const {
            return fmt::format("drain {}{}", target_words(d.target),
                               d.timeout_s ? fmt::format(" --timeout {}", *d.timeout_s) : "");
        }
        std::string operator()(const UndrainRequest& u) const { return "undrain " + target_words(u.target); }
        std::string operator()(const DisableRequest& d) const {
            return fmt::format("{} {}", d.disable ? "disable" : "enable", target_words(d.target));
        }
        std::string operator()(const WeightRequest& w) const {
            if (!w.weight) return "weight --clear " + target_words(w.target);
            return fmt::format("weight {} {}", target_words(w.target), *w.weight);
        }
        std::string operator()(const ProgressRequest& p) const { return "progress " + target_words(p.target); }
        std::string operator()(const VrrpRequest& v) const {
            return fmt::format("{}{} {}", v.verb == VrrpRequest::Verb::Failover ? "failover" : "hold",
                               v.clear ? " --clear" : "", v.group.empty() ? v.instance : "--group " + v.group);
        }
    };
    return std::visit(Visitor{}, r);
}

std::string format_progress(const DrainProgress& p) {
    auto out = fmt::format("draining {} real server{}, {} active connection{} left", p.draining,
                           p.draining == 1 ? "" : "s", p.connections, p.connections == 1 ? "" : "s");
    if (p.routes)
        out += fmt::format(", {} announced route{} still exported", p.routes, p.routes == 1 ? "" : "s");
    return out;
}

std::optional<DrainProgress> parse_progress(std::string_view line) {
    constexpr std::string_view kHead = "draining ";
    if (!line.starts_with(kHead)) return std::nullopt;
    line.remove_prefix(kHead.size());
    auto space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto draining = number(line.substr(0, space), UINT64_MAX);
    auto comma = line.find(", ");
    if (!draining || comma == std::string_view::npos) return std::nullopt;
    line.remove_prefix(comma + 2);
    space = line.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto connections = number(line.substr(0, space), UINT64_MAX);
    if (!connections) return std::nullopt;
    DrainProgress out{*draining, *connections, 0};
    if (comma = line.find(", "); comma != std::string_view::npos) {
        line.remove_prefix(comma + 2);
        space = line.find(' ');
        auto routes = space == std::string_view::npos ? std::nullopt : number(line.substr(0, space), UINT64_MAX);
        if (!routes) return std::nullopt;
        out.routes = *routes;
    }
    return out;
}

}  // namespace lvsd::ctl
