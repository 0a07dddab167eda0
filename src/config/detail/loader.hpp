// The configuration loader's shared parts, for its readers (load_*.cpp, one per section):
// Loader, one reading of a libconfig tree that collects every problem as FILE:LINE:
// message, and Group, one libconfig group being read. libconfig stays inside these files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <libconfig.h++>

#include "config/config.hpp"
#include "config/detail/keys.hpp"

namespace lvsd::config::detail {

namespace lc = libconfig;

std::string_view type_name(lc::Setting::Type t);

// A value as the operator wrote it, for messages.
std::string show(const lc::Setting& s);

std::string join(const std::vector<std::string_view>& v, std::string_view sep);

std::string seconds_text(Duration d);

bool valid_ifname(std::string_view n);

std::string family_name(Family f);

// libconfig 1.5 opens a relative @include path in the include directory.
std::string resolve_include(const std::string& include_dir, const std::string& path);

// A too-wide integer literal: file, line, and the value libconfig read instead.
using WideAt = std::tuple<std::string, int, int32_t>;

class Loader;

// One libconfig group being read: knows its keys, reports unknown ones, reads typed
// values with range checks. Messages start with the group's context ("vrrp instance
// \"VI_1\": ...").
class Group {
public:
    // `hints`: for unknown keys of this section, before the general keepalived hints.
    Group(Loader& loader, const lc::Setting& s, std::string context, const std::vector<std::string_view>& keys,
          const std::map<std::string_view, std::string_view>* hints = nullptr);

    const lc::Setting& setting() const { return s_; }
    const std::string& context() const { return context_; }
    Location where() const;
    const lc::Setting* find(std::string_view key) const;

    void error(const lc::Setting& at, const std::string& message);
    void error(const std::string& message);  // at the group itself
    void missing(std::string_view key, std::string_view what = {});

    std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
    std::optional<double> number(std::string_view key);
    std::optional<Duration> seconds(std::string_view key, Duration min, Duration max);
    std::optional<bool> boolean(std::string_view key);
    std::optional<std::string> string(std::string_view key);
    // A string among `choices`; an unknown one gets a "did you mean".
    std::optional<std::string> choice(std::string_view key, const std::vector<std::string_view>& choices);
    std::optional<IpAddress> address(std::string_view key);
    std::optional<std::string> interface(std::string_view key);
    // The elements of an array or list; wrong type reported.
    std::vector<const lc::Setting*> elements(std::string_view key);
    std::optional<Command> command(std::string_view key);
    // A tracked script's command: like command(), but a bare program name is looked up
    // in the system directories, and text with shell syntax runs under /bin/sh -c.
    std::optional<Command> script(std::string_view key, const std::string& run_as = {});

    bool wrong_type(const lc::Setting& s, std::string_view key, std::string_view expected);

private:
    Loader& loader_;
    const lc::Setting& s_;
    std::string context_;
};

class Loader {
public:
    Loader(std::string source, std::string include_dir, std::set<WideAt> wide_lines, LoadOptions options = {})
        : source_(std::move(source)), include_dir_(std::move(include_dir)), wide_lines_(std::move(wide_lines)),
          options_(options) {}

    // False when the file is checked for another host (LoadOptions::host_checks).
    bool host_checks() const { return options_.host_checks; }

    // libconfig names an included file as written in @include; name it as it was opened.
    std::string file_of(const lc::Setting& s) const {
        const char* f = s.getSourceFile();
        if (!f || !*f) return source_;
        return resolve_include(include_dir_, f);
    }
    Location where(const lc::Setting& s) const {
        Location at{file_of(s), static_cast<int>(s.getSourceLine())};
        // libconfig stamps a setting with the line of the token after it: for the last
        // string of an array or list that is the closing bracket, often a line further
        // down. Point at the line that has the string itself.
        if (s.getType() == lc::Setting::TypeString && !s.isRoot() &&
            (s.getParent().isArray() || s.getParent().isList()))
            at.line = line_with(at, fmt::format("\"{}\"", s.c_str()));
        return at;
    }
    void error(const Location& at, std::string message) { diagnostics_.push_back({at.file, at.line, std::move(message)}); }
    void error(const lc::Setting& at, std::string message) { error(where(at), std::move(message)); }

    // The text of a file as it was read (so that line_with() need not read it again, and
    // works for load_string).
    void know_text(const std::string& file, std::string_view text) {
        auto& lines = file_lines_[file];
        lines.clear();
        while (!text.empty()) {
            const auto nl = text.find('\n');
            lines.emplace_back(text.substr(0, nl));
            text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        }
    }

    // The nearest line at or above `at` (at most 5 up) that contains `needle`; else at.line.
    int line_with(const Location& at, const std::string& needle) const {
        auto& lines = file_lines_[at.file];
        if (lines.empty()) {
            std::ifstream in(at.file);
            for (std::string l; std::getline(in, l);) lines.push_back(std::move(l));
        }
        for (int n = at.line; n >= 1 && n > at.line - 6; --n)
            if (static_cast<std::size_t>(n) <= lines.size() && lines[n - 1].find(needle) != std::string::npos) return n;
        return at.line;
    }

    // The integer literal on this line was already reported as too wide.
    // (Matched by the value libconfig read, so that a good number on the same line is still checked.)
    bool wide(const lc::Setting& s) const {
        if (s.getType() != lc::Setting::TypeInt) return false;
        return wide_lines_.count({file_of(s), static_cast<int>(s.getSourceLine()), static_cast<int>(s)}) > 0;
    }

    std::vector<Diagnostic> take_diagnostics() { return std::move(diagnostics_); }
    bool failed() const { return !diagnostics_.empty(); }

    std::shared_ptr<Config> load(const lc::Setting& root);

private:
    void read_global(const lc::Setting& s, Config& c);
    void read_announce(Group& g, Announce& a);
    std::optional<VrrpInstance> read_instance(const lc::Setting& s, std::size_t index);
    std::optional<VrrpScript> read_script(const lc::Setting& s, std::size_t index);
    std::optional<VrrpTrackFile> read_track_file(const lc::Setting& s, std::size_t index);
    std::optional<VrrpTrackProcess> read_track_process(const lc::Setting& s, std::size_t index);
    void read_vip(Group& g, const lc::Setting& e, VrrpInstance& vi, std::vector<VirtualAddress>& out);
    void read_notify(Group& g, Notify& n);
    std::optional<VrrpSyncGroup> read_sync_group(const lc::Setting& s, std::size_t index);
    // A list of references to named trackers (track_script, track_process, track_file):
    // each a name, or a group { name = ...; weight = ...; } whose weight (|w| <= max_weight)
    // overrides the tracker's own.
    template <class Ref>
    void read_refs(Group& g, std::string_view key, const std::string& context, std::string_view list,
                   int max_weight, std::vector<Ref>& out) {
        for (auto* e : g.elements(key)) {
            Ref t;
            t.where = where(*e);
            if (e->getType() == lc::Setting::TypeString) {
                t.name = e->c_str();
            } else if (e->isGroup()) {
                Group tg(*this, *e, fmt::format("{} {}", context, key), detail::keys_of(key));
                if (auto n = tg.string("name")) t.name = *n;
                else if (!tg.find("name")) tg.missing("name");
                if (auto w = tg.integer("weight", -max_weight, max_weight)) t.weight = static_cast<int>(*w);
                if (t.name.empty()) continue;
            } else {
                g.error(*e, fmt::format("{} entries must be {} names or groups {{ name = ...; weight = ...; }}, not {}",
                                        key, list, type_name(e->getType())));
                continue;
            }
            if (std::any_of(out.begin(), out.end(), [&](auto& x) { return x.name == t.name; }))
                g.error(*e, fmt::format("{} \"{}\" is listed twice", key, t.name));
            else
                out.push_back(std::move(t));
        }
    }
    std::optional<VirtualServerGroup> read_server_group(const lc::Setting& s, std::size_t index);
    std::optional<VirtualServer> read_virtual_server(const lc::Setting& s, std::size_t index);
    void expand_groups(Config& c);
    std::optional<RealServer> read_real_server(const lc::Setting& s, const VirtualServer& vs, const std::string& vs_name);
    std::vector<HealthCheck> read_check(const lc::Setting& s, std::string_view kind, const RealServer& rs,
                                        const VirtualServer& vs, const std::string& rs_context);
    void read_http_target(Group& g, HttpProbe& p);
    std::optional<StatusCodes> read_status_codes(Group& g);
    std::optional<MiscProbe> read_misc(Group& g);
    void check_instances(Config& c);
    void check_scripts(Config& c);
    void check_sync_groups(Config& c);
    void check_virtual_servers(Config& c);
    void check_announce(Config& c);

    std::string source_;
    const Global* global_ = &kNoGlobal;  // global_defs, once read (defaults for the sections)
    static inline const Global kNoGlobal{};
    mutable std::map<std::string, std::vector<std::string>> file_lines_;  // for line_with()
    std::set<std::string> declared_scripts_;  // vrrp_scripts names, also of refused entries
    std::string include_dir_;
    std::set<WideAt> wide_lines_;
    LoadOptions options_;
    std::vector<Diagnostic> diagnostics_;
    std::set<std::string> instance_names_;  // as written, also of instances with errors
    bool syncid_from_instance_ = false;
    bool vs_port_known_ = true;    // false while reading a virtual server whose port is wrong
    bool vs_family_known_ = true;  // false while reading a virtual server whose address is wrong
    bool vs_ports_vary_ = false;   // true while reading a group's virtual server whose entries differ in port
    const std::vector<VirtualServerGroup>* groups_ = nullptr;  // read before the virtual servers
    std::set<std::string> group_names_;  // as written, also of groups with errors
    // Members of a group written "fwmark N" without a family: the virtual server decides.
    std::map<std::string, std::set<std::size_t>> mark_family_open_;
};

}  // namespace lvsd::config::detail
