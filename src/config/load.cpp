// libconfig++ -> config::Config, with every problem reported as FILE:LINE: message.
//
// The reader walks the whole tree even after errors, so one run reports every problem;
// a value that failed its own check is left out of the cross-checks that depend on it
// (one root cause, one message). libconfig stays inside the loader's files: this one (the
// entry points and the order of the sections), detail/loader.hpp (Loader, Group) and one
// load_*.cpp per section.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <libconfig.h++>

#include "config/config.hpp"
#include "config/detail/loader.hpp"
#include "config/detail/keys.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config {

namespace detail {

std::shared_ptr<Config> Loader::load(const lc::Setting& root) {
    auto c = std::make_shared<Config>();
    c->source = source_;
    Group top(*this, root, "configuration", detail::keys_of("configuration"));

    c->global.where = Location{source_, 1};
    global_ = &c->global;
    if (auto* g = top.find("global_defs")) {
        if (g->isGroup()) read_global(*g, *c);
        else top.wrong_type(*g, "global_defs", "a group { ... }");
    }

    auto list_of_groups = [&](std::string_view key, auto&& read, auto& out) {
        const lc::Setting* s = top.find(key);
        if (!s) return;
        if (!s->isList()) {
            top.wrong_type(*s, key, "a list of groups ( { ... }, { ... } )");
            return;
        }
        for (int i = 0; i < s->getLength(); ++i) {
            const lc::Setting& e = (*s)[i];
            if (!e.isGroup()) {
                error(e, fmt::format("{}[{}] must be a group {{ ... }}, not {}", key, i, type_name(e.getType())));
                continue;
            }
            if (auto v = read(e, static_cast<std::size_t>(i))) out.push_back(std::move(*v));
        }
    };
    list_of_groups("vrrp_scripts", [&](const lc::Setting& e, std::size_t i) { return read_script(e, i); }, c->vrrp_scripts);
    list_of_groups("vrrp_track_files", [&](const lc::Setting& e, std::size_t i) { return read_track_file(e, i); }, c->vrrp_track_files);
    list_of_groups("vrrp_track_processes", [&](const lc::Setting& e, std::size_t i) { return read_track_process(e, i); }, c->vrrp_track_processes);
    list_of_groups("vrrp_instances", [&](const lc::Setting& e, std::size_t i) { return read_instance(e, i); }, c->vrrp_instances);
    list_of_groups("vrrp_sync_groups", [&](const lc::Setting& e, std::size_t i) { return read_sync_group(e, i); }, c->vrrp_sync_groups);
    list_of_groups("virtual_server_groups", [&](const lc::Setting& e, std::size_t i) { return read_server_group(e, i); }, c->virtual_server_groups);
    groups_ = &c->virtual_server_groups;
    list_of_groups("virtual_servers", [&](const lc::Setting& e, std::size_t i) { return read_virtual_server(e, i); }, c->virtual_servers);
    expand_groups(*c);

    check_instances(*c);
    check_scripts(*c);
    check_sync_groups(*c);
    check_virtual_servers(*c);
    check_announce(*c);

    // lvs_sync_daemon names an instance: resolve after the instances are known.
    if (auto& sd = c->global.lvs_sync_daemon) {
        auto it = std::find_if(c->vrrp_instances.begin(), c->vrrp_instances.end(),
                               [&](const VrrpInstance& v) { return v.name == sd->instance; });
        if (it != c->vrrp_instances.end()) {
            // keepalived's default sync id is the instance's VRID.
            if (syncid_from_instance_) sd->syncid = it->virtual_router_id;
        } else if (!instance_names_.count(sd->instance)) {  // a broken instance was reported already
            error(sd->where, fmt::format("global_defs.lvs_sync_daemon: instance \"{}\" is not a vrrp instance", sd->instance));
        }
    }
    return c;
}

}  // namespace detail

namespace {

using namespace detail;

LoadResult finish(Loader& loader, const lc::Config& cfg) {
    auto c = loader.load(cfg.getRoot());
    auto diags = loader.take_diagnostics();
    if (diags.empty()) return LoadResult(std::shared_ptr<const Config>(std::move(c)));
    std::stable_sort(diags.begin(), diags.end(), [](auto& a, auto& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); });
    diags.erase(std::unique(diags.begin(), diags.end(),
                            [](auto& a, auto& b) { return a.file == b.file && a.line == b.line && a.message == b.message; }),
                diags.end());
    return LoadResult(std::move(diags));
}

// Integers too wide for libconfig, in `text` and the files it @includes (libconfig's own
// nesting limit is 10).
// The path of an `@include "PATH"` line (libconfig's directive: first on its line), or
// nothing. By hand rather than with std::regex: this runs on every line of every load.
std::optional<std::string> include_path(std::string_view line) {
    std::size_t p = line.find_first_not_of(" \t");
    if (p == std::string_view::npos || line.compare(p, 8, "@include") != 0) return std::nullopt;
    p += 8;
    const std::size_t open = line.find_first_not_of(" \t", p);
    if (open == p || open == std::string_view::npos || line[open] != '"') return std::nullopt;
    const std::size_t close = line.find('"', open + 1);
    if (close == std::string_view::npos || close == open + 1) return std::nullopt;
    return std::string(line.substr(open + 1, close - open - 1));
}

// An included file libconfig must not be given: anything but a regular file (a FIFO or
// /dev/zero would never end), or one over kMaxIncludeBytes.
constexpr std::uintmax_t kMaxIncludeBytes = 16u << 20;
std::optional<std::string> include_problem(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;  // libconfig reports a missing file
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
    if (static_cast<std::uintmax_t>(st.st_size) > kMaxIncludeBytes)
        return fmt::format("is {} bytes, over the {} MiB an included file may have", st.st_size, kMaxIncludeBytes >> 20);
    return std::nullopt;
}

// Integers too wide for libconfig, in `text` and the files it @includes (libconfig's own
// nesting limit is 10), and @include lines naming what libconfig must not read (in
// `refused`: the load stops before libconfig sees the text).
void scan_wide_integers(std::string_view text, const std::string& name, const std::string& include_dir, int depth,
                        std::vector<Diagnostic>& out, std::set<WideAt>& lines, std::vector<Diagnostic>& refused) {
    for (auto& w : detail::find_wide_integers(text)) {
        out.push_back({name, w.line, fmt::format("integer {} does not fit in 32 bits (libconfig would read it wrongly; "
                                                 "write {}L if a 64-bit value is meant)", w.literal, w.literal)});
        lines.insert({name, w.line, w.wrapped});
    }
    if (depth >= 10) return;
    int line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        auto included = include_path(line);
        if (!included) continue;
        const std::string path = resolve_include(include_dir, *included);
        if (auto why = include_problem(path)) {
            refused.push_back({name, line_number, fmt::format("@include \"{}\": {} {}", *included, path, *why)});
            continue;
        }
        std::ifstream f(path, std::ios::binary);
        if (!f) continue;  // libconfig reports it
        std::ostringstream content;
        content << f.rdbuf();
        scan_wide_integers(content.str(), path, include_dir, depth + 1, out, lines, refused);
    }
}

LoadResult load_text(std::string_view text, const std::string& name, const std::string& include_dir,
                     LoadOptions options = {}) {
    std::vector<Diagnostic> early;
    std::set<WideAt> wide_lines;
    std::vector<Diagnostic> refused;
    scan_wide_integers(text, name, include_dir, 0, early, wide_lines, refused);
    if (!refused.empty()) return LoadResult(std::move(refused));
    lc::Config cfg;
    if (!include_dir.empty()) cfg.setIncludeDir(include_dir.c_str());
    try {
        cfg.readString(std::string(text));
    } catch (const lc::ParseException& e) {
        // libconfig stops at the first syntax error: it is necessarily the only report.
        const char* f = e.getFile();
        const bool in_main = !f || !*f;
        std::string message = e.getError();
        if (message != "syntax error") message = "syntax error: " + message;
        if (in_main) {
            // libconfig says only "syntax error": show the line it stopped at.
            std::string_view rest = text;
            for (int line = 1; line < e.getLine() && !rest.empty(); ++line) {
                const auto nl = rest.find('\n');
                rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            }
            std::string_view here = rest.substr(0, rest.find('\n'));
            while (!here.empty() && std::isspace(static_cast<unsigned char>(here.front()))) here.remove_prefix(1);
            while (!here.empty() && std::isspace(static_cast<unsigned char>(here.back()))) here.remove_suffix(1);
            if (!here.empty()) message += fmt::format(" in: {}", here);
        }
        return LoadResult(std::vector<Diagnostic>{{in_main ? name : std::string(f), e.getLine(), message}});
    } catch (const lc::FileIOException&) {
        return LoadResult(std::vector<Diagnostic>{{name, 0, "cannot read an @include file"}});
    }
    Loader loader(name, include_dir, std::move(wide_lines), options);
    loader.know_text(name, text);
    auto result = finish(loader, cfg);
    if (early.empty()) return result;
    early.insert(early.end(), result.diagnostics().begin(), result.diagnostics().end());
    std::stable_sort(early.begin(), early.end(), [](auto& a, auto& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); });
    return LoadResult(std::move(early));
}

}  // namespace

std::string to_string(const Diagnostic& d) {
    if (d.line <= 0) return fmt::format("{}: {}", d.file, d.message);
    return fmt::format("{}:{}: {}", d.file, d.line, d.message);
}

LoadResult load_string(std::string_view text, const std::string& name) { return load_text(text, name, ""); }

LoadResult load_string(std::string_view text, const std::string& name, LoadOptions options) {
    return load_text(text, name, "", options);
}

LoadResult load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        return LoadResult(std::vector<Diagnostic>{{path, 0, fmt::format("cannot read the configuration: {}", std::strerror(err))}});
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return LoadResult(std::vector<Diagnostic>{{path, 0, "cannot read the configuration: it is a directory"}});
    std::ostringstream text;
    text << in.rdbuf();
    const auto slash = path.rfind('/');
    return load_text(text.str(), path, slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

}  // namespace lvsd::config