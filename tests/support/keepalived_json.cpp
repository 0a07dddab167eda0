// JSON for the readings: the checked-in form, the comparison, file I/O. Boost.JSON does
// the parsing (header-only: its sources are compiled into this one translation unit).
#include <boost/json/src.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "support/keepalived_reading.hpp"

namespace lvsd::testing::keepalived {

namespace json = boost::json;

namespace {

std::string scalar(const json::value& v) {
    if (v.is_double()) {
        // Durations: "1", "0.5"; shortest form that reads back the same.
        const double d = v.as_double();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<long long>(d));
        return fmt::format("{}", d);
    }
    return json::serialize(v);
}

void write(std::string& out, const json::value& v, int depth) {
    const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
    const std::string close(static_cast<std::size_t>(depth) * 2, ' ');
    if (v.is_object()) {
        const auto& o = v.as_object();
        if (o.empty()) {
            out += "{}";
            return;
        }
        // Small objects of scalars on one line: {"line": 11, "text": "..."}.
        bool flat = true;
        std::string line = "{";
        for (const auto& [k, x] : o) {
            flat = flat && !x.is_object() && !x.is_array();
            line += (line.size() > 1 ? ", " : "") + json::serialize(json::string(k)) + ": " + (flat ? scalar(x) : "");
        }
        line += "}";
        if (flat && line.size() + pad.size() <= 100) {
            out += line;
            return;
        }
        out += "{\n";
        bool first = true;
        for (const auto& [k, x] : o) {
            if (!first) out += ",\n";
            first = false;
            out += pad + json::serialize(json::string(k)) + ": ";
            write(out, x, depth + 1);
        }
        out += "\n" + close + "}";
    } else if (v.is_array()) {
        const auto& a = v.as_array();
        if (a.empty()) {
            out += "[]";
            return;
        }
        // Arrays of scalars on one line (VIPs, peers), of objects one per line.
        bool flat = true;
        for (const auto& x : a) flat = flat && !x.is_object() && !x.is_array();
        if (flat) {
            std::string line = "[";
            for (std::size_t i = 0; i < a.size(); ++i) line += (i ? ", " : "") + scalar(a[i]);
            line += "]";
            if (line.size() + pad.size() <= 100) {
                out += line;
                return;
            }
        }
        out += "[\n";
        for (std::size_t i = 0; i < a.size(); ++i) {
            out += pad;
            write(out, a[i], depth + 1);
            out += i + 1 < a.size() ? ",\n" : "\n";
        }
        out += close + "]";
    } else {
        out += scalar(v);
    }
}

bool same(const json::value& a, const json::value& b) {
    // 1 and 1.0 are the same duration.
    if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
    return a == b;
}

std::string shown(const json::value& v) {
    std::string s;
    write(s, v, 0);
    if (s.size() > 200) s = s.substr(0, 200) + "...";
    return s;
}

// A readable name for array element i: the element's "name", "service", "file" or
// "address" when it has one, so that a message says which instance or server.
std::string element(const json::array& a, std::size_t i) {
    if (const auto* o = a[i].if_object())
        for (const char* key : {"name", "service", "address", "path", "type"})
            if (const auto* n = o->if_contains(key); n && n->is_string())
                return fmt::format("[{}:{}]", i, std::string_view(n->as_string()));
    return fmt::format("[{}]", i);
}

void diff(const json::value& want, const json::value& got, const std::string& path, std::vector<std::string>& out) {
    if (want.is_object() && got.is_object()) {
        const auto &w = want.as_object(), &g = got.as_object();
        for (const auto& [k, x] : w) {
            const std::string p = path.empty() ? std::string(k) : path + "." + std::string(k);
            if (const auto* y = g.if_contains(k)) diff(x, *y, p, out);
            else out.push_back(fmt::format("{}: checked in {}, keepalived now shows none", p, shown(x)));
        }
        for (const auto& [k, y] : g)
            if (!w.contains(k))
                out.push_back(fmt::format("{}: not checked in, keepalived now shows {}",
                                          path.empty() ? std::string(k) : path + "." + std::string(k), shown(y)));
        return;
    }
    if (want.is_array() && got.is_array()) {
        const auto &w = want.as_array(), &g = got.as_array();
        const std::size_t n = std::min(w.size(), g.size());
        for (std::size_t i = 0; i < n; ++i) diff(w[i], g[i], path + element(w, i), out);
        for (std::size_t i = n; i < w.size(); ++i)
            out.push_back(fmt::format("{}{}: checked in {}, keepalived now shows none", path, element(w, i), shown(w[i])));
        for (std::size_t i = n; i < g.size(); ++i)
            out.push_back(fmt::format("{}{}: not checked in, keepalived now shows {}", path, element(g, i), shown(g[i])));
        return;
    }
    if (!same(want, got)) out.push_back(fmt::format("{}: checked in {}, keepalived now {}", path, shown(want), shown(got)));
}

}  // namespace

std::string pretty(const json::value& v) {
    std::string out;
    write(out, v, 0);
    return out + "\n";
}

std::vector<std::string> differences(const json::value& want, const json::value& got, const std::vector<std::string>& keys) {
    std::vector<std::string> out;
    if (keys.empty() || !want.is_object() || !got.is_object()) {
        diff(want, got, "", out);
        return out;
    }
    for (const auto& k : keys) {
        const auto* w = want.as_object().if_contains(k);
        const auto* g = got.as_object().if_contains(k);
        if (w && g) diff(*w, *g, k, out);
        else if (w) out.push_back(fmt::format("{}: checked in {}, keepalived now shows none", k, shown(*w)));
        else if (g) out.push_back(fmt::format("{}: not checked in, keepalived now shows {}", k, shown(*g)));
    }
    return out;
}

json::value read_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
    std::ostringstream s;
    s << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(s.str(), ec);
    if (ec) throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path, ec.message()));
    return v;
}

void write_json(const std::string& path, const json::value& v) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << pretty(v);
    if (!out.flush()) throw std::runtime_error(fmt::format("{}: cannot write", path));
}

}  // namespace lvsd::testing::keepalived
