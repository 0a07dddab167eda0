// Group: one libconfig group of the configuration being read (typed values, range checks,
// unknown keys), and the small helpers the section readers share.
#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

namespace {

// keepalived's own names for things lvsd calls differently, and keepalived checks that
// lvsd does not implement: an unknown key that is one of these gets a precise hint.
const std::map<std::string_view, std::string_view> kKeepalivedHints = {
    {"global", "the section is called 'global_defs'"},
    {"vrrp_instance", "lvsd takes a list: vrrp_instances = ( { name = \"VI_1\"; ... } );"},
    {"vrrp_sync_group", "lvsd takes a list: vrrp_sync_groups = ( { name = \"G1\"; group = [ ... ]; } );"},
    {"virtual_server", "lvsd takes a list: virtual_servers = ( { address = ...; port = ...; ... } );"},
    {"virtual_server_group", "lvsd takes a list: virtual_server_groups = ( { name = \"G\"; entries = [ \"192.0.2.10-20 80\", \"fwmark 7\" ]; } );"},
    {"real_server", "lvsd takes a list: real_servers = ( { address = ...; port = ...; } );"},
    {"lvs_sched", "lvsd calls the scheduler 'lb_algo'"},
    {"lvs_method", "lvsd calls the forwarding method 'lb_kind'"},
    {"nb_get_retry", "use 'retry' (or 'fall')"},
    {"BFD_CHECK", "lvsd has no BFD_CHECK; use TCP_CHECK, HTTP_GET, PROXY_CHECK or MISC_CHECK"},
    {"FILE_CHECK", "lvsd has no FILE_CHECK; use TCP_CHECK, HTTP_GET, PROXY_CHECK or MISC_CHECK"},
};

}  // namespace

std::string_view type_name(lc::Setting::Type t) {
    switch (t) {
        case lc::Setting::TypeInt:
        case lc::Setting::TypeInt64: return "an integer";
        case lc::Setting::TypeFloat: return "a number";
        case lc::Setting::TypeString: return "a string";
        case lc::Setting::TypeBoolean: return "a boolean";
        case lc::Setting::TypeGroup: return "a group { ... }";
        case lc::Setting::TypeArray: return "an array [ ... ]";
        case lc::Setting::TypeList: return "a list ( ... )";
        default: return "nothing";
    }
}

// A value as the operator wrote it, for messages.
std::string show(const lc::Setting& s) {
    switch (s.getType()) {
        case lc::Setting::TypeInt: return std::to_string(static_cast<int>(s));
        case lc::Setting::TypeInt64: return std::to_string(static_cast<long long>(s));
        case lc::Setting::TypeFloat: return fmt::format("{}", static_cast<double>(s));
        case lc::Setting::TypeString: return fmt::format("\"{}\"", s.c_str());
        case lc::Setting::TypeBoolean: return static_cast<bool>(s) ? "true" : "false";
        default: return std::string(type_name(s.getType()));
    }
}

std::string join(const std::vector<std::string_view>& v, std::string_view sep) {
    std::string out;
    for (auto& x : v) {
        if (!out.empty()) out += sep;
        out += x;
    }
    return out;
}

std::string seconds_text(Duration d) {
    return fmt::format("{}", static_cast<double>(d.count()) / 1000.0);
}

bool valid_ifname(std::string_view n) {
    // The kernel's dev_valid_name(): 1-15 bytes, no '/', ':' or blanks, not "." or "..".
    if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
    return std::none_of(n.begin(), n.end(), [](char c) {
        return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c));
    });
}

std::string family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

// libconfig 1.5 opens a relative @include path in the include directory.
std::string resolve_include(const std::string& include_dir, const std::string& path) {
    if (path.empty() || path.front() == '/' || include_dir.empty()) return path;
    return include_dir + "/" + path;
}

Group::Group(Loader& loader, const lc::Setting& s, std::string context, const std::vector<std::string_view>& keys,
             const std::map<std::string_view, std::string_view>* hints)
    : loader_(loader), s_(s), context_(std::move(context)) {
    for (int i = 0; i < s.getLength(); ++i) {
        const lc::Setting& child = s[i];
        const std::string_view name = child.getName() ? child.getName() : "";
        if (std::find(keys.begin(), keys.end(), name) != keys.end()) continue;
        std::string msg = fmt::format("{}: unknown key '{}'", context_, name);
        std::optional<std::string_view> hint;
        for (const auto* table : {hints, &kKeepalivedHints}) {
            if (!table || hint) continue;
            if (auto it = table->find(name); it != table->end()) hint = it->second;
        }
        if (hint)
            msg += fmt::format(" ({})", *hint);
        else if (auto near = detail::nearest(name, keys))
            msg += fmt::format("; did you mean '{}'?", *near);
        loader_.error(child, msg);
    }
}

Location Group::where() const { return loader_.where(s_); }

const lc::Setting* Group::find(std::string_view key) const {
    const std::string k(key);
    return s_.exists(k) ? &s_[k.c_str()] : nullptr;
}

void Group::error(const lc::Setting& at, const std::string& message) { loader_.error(at, context_ + ": " + message); }
void Group::error(const std::string& message) { loader_.error(s_, context_ + ": " + message); }

void Group::missing(std::string_view key, std::string_view what) {
    error(fmt::format("missing required key '{}'{}{}", key, what.empty() ? "" : " ", what));
}

bool Group::wrong_type(const lc::Setting& s, std::string_view key, std::string_view expected) {
    if (s.isAggregate()) error(s, fmt::format("{} must be {}, not {}", key, expected, type_name(s.getType())));
    else error(s, fmt::format("{} must be {}, not {} ({})", key, expected, type_name(s.getType()), show(s)));
    return false;
}

std::optional<int64_t> Group::integer(std::string_view key, int64_t min, int64_t max) {
    const lc::Setting* s = find(key);
    if (!s) return std::nullopt;
    if (!s->isNumber() || s->getType() == lc::Setting::TypeFloat) {
        wrong_type(*s, key, "an integer");
        return std::nullopt;
    }
    if (loader_.wide(*s)) return std::nullopt;
    const int64_t v = s->getType() == lc::Setting::TypeInt64 ? static_cast<long long>(*s) : static_cast<int>(*s);
    if (v < min || v > max) {
        error(*s, fmt::format("{} = {} is out of range {}..{}", key, v, min, max));
        return std::nullopt;
    }
    return v;
}

std::optional<double> Group::number(std::string_view key) {
    const lc::Setting* s = find(key);
    if (!s) return std::nullopt;
    if (!s->isNumber()) {
        wrong_type(*s, key, "a number");
        return std::nullopt;
    }
    if (loader_.wide(*s)) return std::nullopt;
    double v = 0;
    switch (s->getType()) {
        case lc::Setting::TypeInt: v = static_cast<int>(*s); break;
        case lc::Setting::TypeInt64: v = static_cast<double>(static_cast<long long>(*s)); break;
        default: v = static_cast<double>(*s); break;
    }
    if (!std::isfinite(v)) {
        error(*s, fmt::format("{} = {} is not a finite number", key, v));
        return std::nullopt;
    }
    return v;
}

std::optional<Duration> Group::seconds(std::string_view key, Duration min, Duration max) {
    auto v = number(key);
    if (!v) return std::nullopt;
    const double ms = *v * 1000.0;
    if (ms < static_cast<double>(min.count()) - 1e-6 || ms > static_cast<double>(max.count()) + 1e-6) {
        error(*find(key), fmt::format("{} = {} is out of range {}..{} seconds", key, *v, seconds_text(min), seconds_text(max)));
        return std::nullopt;
    }
    if (std::fabs(ms - std::round(ms)) > 1e-6) {
        error(*find(key), fmt::format("{} = {} is finer than a millisecond", key, *v));
        return std::nullopt;
    }
    return Duration(static_cast<int64_t>(std::llround(ms)));
}

std::optional<bool> Group::boolean(std::string_view key) {
    const lc::Setting* s = find(key);
    if (!s) return std::nullopt;
    if (s->getType() != lc::Setting::TypeBoolean) {
        wrong_type(*s, key, "true or false");
        return std::nullopt;
    }
    return static_cast<bool>(*s);
}

std::optional<std::string> Group::string(std::string_view key) {
    const lc::Setting* s = find(key);
    if (!s) return std::nullopt;
    if (s->getType() != lc::Setting::TypeString) {
        wrong_type(*s, key, "a string");
        return std::nullopt;
    }
    return std::string(s->c_str());
}

std::optional<std::string> Group::choice(std::string_view key, const std::vector<std::string_view>& choices) {
    auto v = string(key);
    if (!v) return std::nullopt;
    if (std::find(choices.begin(), choices.end(), *v) != choices.end()) return v;
    std::string msg = fmt::format("{} = \"{}\" is not one of: {}", key, *v, join(choices, ", "));
    if (auto near = detail::nearest(*v, choices)) msg += fmt::format("; did you mean '{}'?", *near);
    error(*find(key), msg);
    return std::nullopt;
}

std::optional<IpAddress> Group::address(std::string_view key) {
    auto v = string(key);
    if (!v) return std::nullopt;
    auto a = parse_address(*v);
    if (!a) {
        error(*find(key), fmt::format("{} = \"{}\" is not an IPv4 or IPv6 address", key, *v));
        return std::nullopt;
    }
    return a;
}

std::optional<std::string> Group::interface(std::string_view key) {
    auto v = string(key);
    if (!v) return std::nullopt;
    if (!valid_ifname(*v)) {
        error(*find(key), fmt::format("{} = \"{}\" is not a valid interface name (1-15 characters, no '/', ':' or blanks)", key, *v));
        return std::nullopt;
    }
    return v;
}

std::vector<const lc::Setting*> Group::elements(std::string_view key) {
    std::vector<const lc::Setting*> out;
    const lc::Setting* s = find(key);
    if (!s) return out;
    if (!s->isArray() && !s->isList()) {
        wrong_type(*s, key, "an array [ ... ] or a list ( ... )");
        return out;
    }
    for (int i = 0; i < s->getLength(); ++i) out.push_back(&(*s)[i]);
    return out;
}

}  // namespace lvsd::config::detail
