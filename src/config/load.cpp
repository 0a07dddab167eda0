// libconfig++ -> config::Config, with every problem reported as FILE:LINE: message.
//
// The reader walks the whole tree even after errors, so one run reports every problem;
// a value that failed its own check is left out of the cross-checks that depend on it
// (one root cause, one message). libconfig stays inside this file.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libconfig.h++>

#include "config/config.hpp"
#include "config/detail/keys.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config {

namespace {

namespace lc = libconfig;
using namespace std::chrono_literals;

constexpr int64_t kU32Max = 4294967295LL;

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

// Hints for keys of one section only (a 'host' elsewhere is not keepalived's SMTP host block).
const std::map<std::string_view, std::string_view> kSmtpCheckHints = {
    {"host", "keepalived's deprecated SMTP_CHECK host { } blocks are not supported; give a list of SMTP_CHECK "
             "groups instead, one per host: SMTP_CHECK = ( { connect_ip = ...; }, { connect_ip = ...; } );"},
};

const std::vector<std::string_view> kSchedulers = {"rr",  "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                                   "sh",  "sed", "nq", "fo",  "ovf",  "mh",    "twos"};

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

namespace {

// Why lvsd must not run `path` as root, or nothing. keepalived's enable_script_security
// rules, always on: the file and every directory on its path are writable only by root
// (a directory writable by others counts only without its sticky bit, as /tmp has).
// `file` is a program to execute (`executable`) or a file a program reads (a script given
// to a shell or an interpreter); `runs_as` names whom lvsd runs the command as.
std::optional<std::string> unsafe_to_run(const std::string& path, bool executable = true,
                                         std::string_view runs_as = "root") {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("'{}': {}", path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fmt::format("'{}' is a directory, not an executable file", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("'{}' is not a regular file", path);
    if (executable && (st.st_mode & 0111) == 0)
        return fmt::format("'{}' is not executable (mode {:04o})", path, st.st_mode & 07777);
    if (st.st_mode & 0022)
        return fmt::format("'{}' is writable by group or others (mode {:04o}) but would run as {}", path,
                           st.st_mode & 07777, runs_as);
    if (st.st_uid != 0 && (st.st_mode & 0200))
        return fmt::format("'{}' is owned and writable by uid {} but would run as {}", path, st.st_uid, runs_as);
    for (std::string dir = path.substr(0, path.rfind('/')); !dir.empty(); dir = dir.substr(0, dir.rfind('/'))) {
        struct stat d {};
        if (::stat(dir.c_str(), &d) != 0) break;
        const bool others_write = (d.st_mode & 0022) && !(d.st_mode & S_ISVTX);
        if (others_write || (d.st_uid != 0 && (d.st_mode & 0200) && !(d.st_mode & S_ISVTX)))
            return fmt::format("'{}' is in '{}', which a user other than root can write to (mode {:04o}, uid {}): "
                               "the script could be replaced",
                               path, dir, d.st_mode & 07777, d.st_uid);
    }
    return std::nullopt;
}

// Every absolute path in a command (argv after the program, or a shell text's words) that
// names an existing file: what the command will read and run (`sh /x/check.sh`, `a && /x/b`).
std::vector<std::string> files_named_in(const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (const auto& w : words) {
        std::string token;
        for (std::size_t i = 0; i <= w.size(); ++i) {
            const char ch = i < w.size() ? w[i] : ' ';
            if (std::string_view(" \t\n|&;<>()`'\"$").find(ch) == std::string_view::npos) {
                token += ch;
                continue;
            }
            struct stat st {};
            if (!token.empty() && token.front() == '/' && ::stat(token.c_str(), &st) == 0 && S_ISREG(st.st_mode))
                out.push_back(token);
            token.clear();
        }
    }
    return out;
}

// A bare program name as keepalived finds it: in the usual system directories.
std::optional<std::string> find_program(const std::string& name) {
    for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        const std::string path = fmt::format("{}/{}", dir, name);
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Command> Group::command(std::string_view key) {
    auto v = string(key);
    if (!v) return std::nullopt;
    const lc::Setting& at = *find(key);
    auto argv = detail::split_command(*v);
    if (!argv) {
        error(at, fmt::format("{}: unterminated quote in: {}", key, *v));
        return std::nullopt;
    }
    if (argv->empty()) {
        error(at, fmt::format("{} is empty; give the absolute path of an executable", key));
        return std::nullopt;
    }
    const std::string& exe = argv->front();
    if (exe.front() != '/') {
        error(at, fmt::format("{}: '{}' is not an absolute path (lvsd runs notify commands without a shell or PATH)", key, exe));
        return std::nullopt;
    }
    if (auto why = loader_.host_checks() ? unsafe_to_run(exe) : std::nullopt) {
        error(at, fmt::format("{}: {}", key, *why));
        return std::nullopt;
    }
    return Command{std::move(*argv), loader_.where(at)};
}

std::optional<Command> Group::script(std::string_view key, const std::string& run_as) {
    auto v = string(key);
    if (!v) return std::nullopt;
    const lc::Setting& at = *find(key);
    if (v->find_first_not_of(" \t") == std::string::npos) {
        error(at, fmt::format("{} is empty", key));
        return std::nullopt;
    }
    std::vector<std::string> argv;
    if (detail::needs_shell(*v)) {
        argv = {"/bin/sh", "-c", *v};
    } else {
        auto words = detail::split_command(*v);
        if (!words) {
            error(at, fmt::format("{}: unterminated quote in: {}", key, *v));
            return std::nullopt;
        }
        argv = std::move(*words);
        if (argv.front().front() != '/' && loader_.host_checks()) {
            auto found = find_program(argv.front());
            if (!found) {
                error(at, fmt::format("{}: '{}' is not in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin "
                                      "or /bin; give its absolute path",
                                      key, argv.front()));
                return std::nullopt;
            }
            argv.front() = *found;
        }
    }
    // The program, and every file the command names (what a shell or an interpreter
    // runs): keepalived's script security would be moot if `sh /x/check.sh` let a
    // check.sh anyone can rewrite run as root.
    const std::string runs_as = run_as.empty() ? std::string("root") : run_as;
    if (!loader_.host_checks()) return Command{std::move(argv), loader_.where(at)};
    if (auto why = unsafe_to_run(argv.front(), true, runs_as)) {
        error(at, fmt::format("{}: {}", key, *why));
        return std::nullopt;
    }
    for (const auto& f : files_named_in({argv.begin() + 1, argv.end()}))
        if (auto why = unsafe_to_run(f, false, runs_as)) {
            error(at, fmt::format("{}: {}", key, *why));
            return std::nullopt;
        }
    return Command{std::move(argv), loader_.where(at)};
}

std::optional<VrrpScript> Loader::read_script(const lc::Setting& s, std::size_t index) {
    VrrpScript vs;
    vs.where = where(s);
    std::string context = fmt::format("vrrp_scripts[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp script \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_scripts"));
    bool ok = true;
    if (auto v = g.string("name")) {
        if (v->empty() || v->size() > 64 ||
            std::any_of(v->begin(), v->end(), [](char ch) { return !std::isgraph(static_cast<unsigned char>(ch)); })) {
            g.error(*g.find("name"), fmt::format("name = \"{}\" must be 1-64 printable characters without blanks", *v));
            ok = false;
        } else {
            vs.name = *v;
            declared_scripts_.insert(*v);  // refused or not: track_script may name it
        }
    } else {
        if (!g.find("name")) g.missing("name");
        ok = false;
    }
    if (auto v = g.string("user")) {
        // keepalived's "user USER [GROUP]".
        auto words = detail::split_command(*v).value_or(std::vector<std::string>{});
        if (words.empty() || words.size() > 2) {
            g.error(*g.find("user"), fmt::format("user = \"{}\": give a user name and optionally a group", *v));
        } else if (host_checks() && !::getpwnam(words[0].c_str())) {
            g.error(*g.find("user"), fmt::format("user: no user \"{}\" on this host", words[0]));
        } else if (host_checks() && words.size() == 2 && !::getgrnam(words[1].c_str())) {
            g.error(*g.find("user"), fmt::format("user: no group \"{}\" on this host", words[1]));
        } else {
            vs.user = words[0];
            if (words.size() == 2) vs.group = words[1];
        }
    }
    if (vs.user.empty() && !global_->vrrp.script_user.empty()) {
        vs.user = global_->vrrp.script_user;
        vs.group = global_->vrrp.script_group;
    }
    if (auto c = g.script("script", vs.user)) {
        vs.text = g.string("script").value_or("");
        vs.script = std::move(*c);
    } else {
        if (!g.find("script")) g.missing("script");
        ok = false;
    }
    if (auto v = g.seconds("interval", 10ms, 3600s)) vs.interval = *v;
    if (auto v = g.seconds("timeout", 10ms, 3600s)) vs.timeout = *v;
    if (auto v = g.integer("weight", -253, 253)) vs.weight = static_cast<int>(*v);
    if (auto v = g.integer("rise", 1, 1000)) vs.rise = static_cast<uint32_t>(*v);
    if (auto v = g.integer("fall", 1, 1000)) vs.fall = static_cast<uint32_t>(*v);
    if (auto v = g.boolean("init_fail")) vs.init_fail = *v;
    if (!ok) return std::nullopt;
    return vs;
}

std::optional<VrrpTrackFile> Loader::read_track_file(const lc::Setting& s, std::size_t index) {
    VrrpTrackFile tf;
    tf.where = where(s);
    std::string context = fmt::format("vrrp_track_files[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp track file \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_track_files"));
    if (auto v = g.string("name")) tf.name = *v;
    else if (!g.find("name")) g.missing("name");
    if (auto v = g.string("file")) {
        if (v->empty() || v->front() != '/') g.error(*g.find("file"), fmt::format("file \"{}\" must be an absolute path", *v));
        else tf.file = *v;
    } else if (!g.find("file")) {
        g.missing("file");
    }
    if (auto v = g.integer("weight", -254, 254)) tf.weight = static_cast<int>(*v);
    if (auto v = g.integer("init_file", -2147483647, 2147483647)) tf.init_file = *v;
    if (auto v = g.boolean("init_overwrite")) tf.init_overwrite = *v;
    if (tf.init_overwrite && !tf.init_file) g.error(*g.find("init_overwrite"), "init_overwrite needs init_file");
    if (tf.name.empty() || tf.file.empty()) return std::nullopt;
    return tf;
}

std::optional<VrrpTrackProcess> Loader::read_track_process(const lc::Setting& s, std::size_t index) {
    VrrpTrackProcess tp;
    tp.where = where(s);
    std::string context = fmt::format("vrrp_track_processes[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp track process \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_track_processes"));
    if (auto v = g.string("name")) tp.name = *v;
    else if (!g.find("name")) g.missing("name");
    if (auto v = g.string("process")) {
        auto words = detail::split_command(*v);
        if (!words || words->empty()) {
            g.error(*g.find("process"), fmt::format("process = \"{}\": give a process name and optionally its parameters", *v));
        } else {
            tp.process = words->front();
            tp.args.assign(words->begin() + 1, words->end());
        }
    } else if (!g.find("process")) {
        g.missing("process");
    }
    if (auto v = g.choice("param_match", {"exact", "initial", "partial"})) tp.param_match = *v;
    else if (!tp.args.empty()) tp.param_match = "exact";  // keepalived's default with parameters
    if (!tp.param_match.empty() && tp.args.empty() && g.find("param_match"))
        g.error(*g.find("param_match"), "param_match needs parameters after the process name");
    if (auto v = g.integer("weight", -254, 254)) tp.weight = static_cast<int>(*v);
    if (auto v = g.integer("quorum", 1, 65535)) tp.quorum = static_cast<uint32_t>(*v);
    if (auto v = g.integer("quorum_max", 1, 65535)) tp.quorum_max = static_cast<uint32_t>(*v);
    if (tp.quorum_max && *tp.quorum_max < tp.quorum)
        g.error(*g.find("quorum_max"), fmt::format("quorum_max {} is below quorum {}", *tp.quorum_max, tp.quorum));
    if (auto v = g.seconds("delay", 0ms, 3600s)) tp.delay = *v;
    if (tp.name.empty() || tp.process.empty()) return std::nullopt;
    return tp;
}

void Loader::check_scripts(Config& c) {
    for (const auto& vi : c.vrrp_instances)
        for (const auto& t : vi.track_process)
            if (std::none_of(c.vrrp_track_processes.begin(), c.vrrp_track_processes.end(),
                             [&](const VrrpTrackProcess& f) { return f.name == t.name; }))
                error(t.where, fmt::format("vrrp instance \"{}\": track_process \"{}\" is not in vrrp_track_processes",
                                           vi.name, t.name));
    for (const auto& vi : c.vrrp_instances)
        for (const auto& t : vi.track_file)
            if (std::none_of(c.vrrp_track_files.begin(), c.vrrp_track_files.end(),
                             [&](const VrrpTrackFile& f) { return f.name == t.name; }))
                error(t.where, fmt::format("vrrp instance \"{}\": track_file \"{}\" is not in vrrp_track_files", vi.name,
                                           t.name));
    for (std::size_t i = 0; i < c.vrrp_scripts.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (c.vrrp_scripts[i].name == c.vrrp_scripts[j].name)
                error(c.vrrp_scripts[i].where, fmt::format("vrrp script \"{}\" is defined twice (first at line {})",
                                                           c.vrrp_scripts[i].name, c.vrrp_scripts[j].where.line));
    auto check = [&](const std::string& who, const std::vector<TrackScript>& tracked) {
        for (const auto& t : tracked)
            if (!declared_scripts_.count(t.name)) {
                std::vector<std::string> names;
                for (const auto& v : c.vrrp_scripts) names.push_back(v.name);
                error(t.where, fmt::format("{}: track_script \"{}\" is not in vrrp_scripts{}", who, t.name,
                                           names.empty() ? std::string()
                                                         : fmt::format(" (known: {})", fmt::join(names, ", "))));
            }
    };
    for (const auto& vi : c.vrrp_instances) check(fmt::format("vrrp instance \"{}\"", vi.name), vi.track_script);
    for (const auto& sg : c.vrrp_sync_groups) check(fmt::format("vrrp sync group \"{}\"", sg.name), sg.track_script);
}

// ---------------------------------------------------------------------------------

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

void Loader::read_global(const lc::Setting& s, Config& c) {
    Group g(*this, s, "global_defs", detail::keys_of("global_defs"));
    Global& gl = c.global;
    gl.where = g.where();
    if (auto v = g.string("router_id")) {
        if (v->empty() || v->size() > 64 || std::any_of(v->begin(), v->end(), [](char ch) { return !std::isgraph(static_cast<unsigned char>(ch)); }))
            g.error(*g.find("router_id"), fmt::format("router_id = \"{}\" must be 1-64 printable characters without blanks", *v));
        else gl.router_id = *v;
    }
    if (auto v = g.choice("log_level", {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"})) {
        static const std::map<std::string, LogLevel> levels = {
            {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn},
            {"warning", LogLevel::Warn},
            {"error", LogLevel::Error}, {"critical", LogLevel::Critical}, {"off", LogLevel::Off}};
        gl.log_level = levels.at(*v);
    }
    if (auto v = g.string("control_socket")) {
        if (v->empty() || v->front() != '/')
            g.error(*g.find("control_socket"), fmt::format("control_socket = \"{}\" must be an absolute path", *v));
        else if (v->size() > 107)
            g.error(*g.find("control_socket"), fmt::format("control_socket is {} bytes long; a unix socket path has at most 107", v->size()));
        else gl.control_socket = *v;
    }
    if (auto v = g.seconds("reconcile_interval", 1s, 3600s)) gl.reconcile_interval = *v;
    // keepalived's global VRRP defaults (the instances read them below).
    auto& d = gl.vrrp;
    if (auto v = g.integer("vrrp_version", 2, 3)) d.version = static_cast<uint8_t>(*v);
    if (auto v = g.seconds("vrrp_garp_interval", 0ms, 10s)) d.garp_interval = *v;
    if (auto v = g.seconds("vrrp_gna_interval", 0ms, 10s)) d.gna_interval = *v;
    if (auto v = g.seconds("vrrp_garp_master_delay", 0ms, 3600s)) d.garp_master_delay = *v;
    if (auto v = g.integer("vrrp_garp_master_repeat", 1, 255)) d.garp_master_repeat = static_cast<uint32_t>(*v);
    if (auto v = g.seconds("vrrp_garp_master_refresh", 0ms, 86400s)) d.garp_master_refresh = *v;
    if (auto v = g.integer("vrrp_garp_master_refresh_repeat", 1, 255))
        d.garp_master_refresh_repeat = static_cast<uint32_t>(*v);
    if (auto v = g.string("script_user")) {
        auto words = detail::split_command(*v).value_or(std::vector<std::string>{});
        if (words.empty() || words.size() > 2 ||
            (host_checks() && (!::getpwnam(words[0].c_str()) || (words.size() == 2 && !::getgrnam(words[1].c_str())))))
            g.error(*g.find("script_user"),
                    fmt::format("script_user = \"{}\": give an existing user and optionally an existing group", *v));
        else {
            d.script_user = words[0];
            if (words.size() == 2) d.script_group = words[1];
        }
    }
    // lvsd always applies keepalived's script security rules.
    if (auto v = g.boolean("enable_script_security"); v && !*v)
        g.error(*g.find("enable_script_security"),
                "enable_script_security = false: lvsd always refuses scripts that a user other than root can change");
    if (auto v = g.string("metrics_listen")) {
        // "192.0.2.1:9100" or "[2001:db8::1]:9100"
        std::optional<Endpoint> ep;
        std::string_view t = *v;
        std::string_view host, port;
        if (t.starts_with('[')) {
            auto close = t.find("]:");
            if (close != std::string_view::npos) host = t.substr(1, close - 1), port = t.substr(close + 2);
        } else if (auto colon = t.rfind(':'); colon != std::string_view::npos && t.find(':') == colon) {
            host = t.substr(0, colon), port = t.substr(colon + 1);
        }
        auto a = parse_address(host);
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (a && ec == std::errc{} && ptr == port.data() + port.size() && !port.empty() && p >= 1 && p <= 65535)
            ep = Endpoint{*a, static_cast<uint16_t>(p)};
        if (!ep)
            g.error(*g.find("metrics_listen"),
                    fmt::format("metrics_listen = \"{}\" is not ADDRESS:PORT (e.g. \"127.0.0.1:9100\" or \"[::1]:9100\")", *v));
        gl.metrics_listen = ep;
        gl.metrics_listen_where = where(*g.find("metrics_listen"));
    }
    if (auto* sd = g.find("lvs_sync_daemon")) {
        if (!sd->isGroup()) {
            g.wrong_type(*sd, "lvs_sync_daemon", "a group { interface = ...; instance = ...; }");
        } else {
            Group sg(*this, *sd, "global_defs.lvs_sync_daemon", detail::keys_of("lvs_sync_daemon"));
            SyncDaemon d;
            d.where = sg.where();
            bool ok = true;
            if (auto v = sg.interface("interface")) {
                d.interface = *v;
            } else {
                ok = false;
                if (!sg.find("interface")) sg.missing("interface");
            }
            if (auto v = sg.string("instance")) {
                d.instance = *v;
            } else {
                ok = false;
                if (!sg.find("instance")) sg.missing("instance", "(the vrrp instance whose state starts master or backup sync)");
            }
            if (auto v = sg.integer("syncid", 0, 255)) d.syncid = static_cast<uint8_t>(*v);
            else if (sg.find("syncid")) ok = false;
            else syncid_from_instance_ = true;
            if (ok) gl.lvs_sync_daemon = d;
        }
    }
}

void Loader::read_notify(Group& g, Notify& n) {
    n.master = g.command("notify_master");
    n.backup = g.command("notify_backup");
    n.fault = g.command("notify_fault");
    n.stop = g.command("notify_stop");
    n.any = g.command("notify");
}

void Loader::read_vip(Group& g, const lc::Setting& e, VrrpInstance& vi, std::vector<VirtualAddress>& out) {
    VirtualAddress va;
    va.where = where(e);
    std::string text;
    if (e.getType() == lc::Setting::TypeString) {
        // keepalived's form: "192.0.2.10/24 [dev eth1] [label eth1:vip]"
        auto words = detail::split_command(e.c_str()).value_or(std::vector<std::string>{});
        if (words.empty()) {
            g.error(e, "virtual_ipaddress: empty entry");
            return;
        }
        text = words[0];
        for (std::size_t i = 1; i < words.size(); i += 2) {
            if (i + 1 >= words.size() || (words[i] != "dev" && words[i] != "label")) {
                g.error(e, fmt::format("virtual_ipaddress \"{}\": expected ADDRESS[/LEN] [dev IFNAME] [label LABEL]", e.c_str()));
                return;
            }
            (words[i] == "dev" ? va.dev : va.label) = words[i + 1];
        }
    } else if (e.isGroup()) {
        Group vg(*this, e, g.context() + " virtual_ipaddress", detail::keys_of("virtual_ipaddress"));
        auto a = vg.string("address");
        if (!a) {
            if (!vg.find("address")) vg.missing("address");
            return;
        }
        text = *a;
        if (auto d = vg.string("dev")) va.dev = *d;
        if (auto l = vg.string("label")) va.label = *l;
    } else {
        g.error(e, fmt::format("virtual_ipaddress entries must be strings (\"192.0.2.10/24\") or groups "
                               "{{ address = ...; dev = ...; label = ...; }}, not {}",
                               type_name(e.getType())));
        return;
    }
    auto p = parse_prefix(text);
    if (!p) {
        const auto slash = text.find('/');
        auto addr = parse_address(std::string_view(text).substr(0, slash));
        if (addr && slash != std::string::npos)
            g.error(e, fmt::format("virtual_ipaddress \"{}\": the prefix length must be 0..{}", text, addr->is_v4() ? 32 : 128));
        else
            g.error(e, fmt::format("virtual_ipaddress \"{}\" is not an address with an optional prefix length "
                                   "(e.g. 192.0.2.10/24 or 2001:db8::10/64)", text));
        return;
    }
    const auto& a = p->address;
    if (a.is_unspecified() || a.is_multicast() || a.is_loopback()) {
        g.error(e, fmt::format("virtual_ipaddress {} is {} address; a VIP must be a unicast address", text,
                               a.is_unspecified() ? "an unspecified" : a.is_multicast() ? "a multicast" : "a loopback"));
        return;
    }
    va.prefix = *p;
    bool ok = true;
    if (!va.dev.empty() && !valid_ifname(va.dev)) {
        g.error(e, fmt::format("virtual_ipaddress {}: dev \"{}\" is not a valid interface name", text, va.dev));
        ok = false;
    }
    if (!va.label.empty()) {
        const std::string& dev = va.dev.empty() ? vi.interface : va.dev;
        if (a.is_v6()) {
            g.error(e, fmt::format("virtual_ipaddress {}: IPv6 addresses have no label", text));
            ok = false;
        } else if (va.label.size() > 15 || !(va.label == dev || va.label.starts_with(dev + ":"))) {
            g.error(e, fmt::format("virtual_ipaddress {}: label \"{}\" must be the device name or start with \"{}:\" "
                                   "and have at most 15 characters",
                                   text, va.label, dev));
            ok = false;
        }
    }
    if (ok) out.push_back(std::move(va));
}

std::optional<VrrpInstance> Loader::read_instance(const lc::Setting& s, std::size_t index) {
    VrrpInstance vi;
    vi.where = where(s);
    std::string context = fmt::format("vrrp_instances[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp instance \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_instances"));
    bool ok = true;  // identity present and readable

    if (auto v = g.string("name")) {
        if (v->empty() || v->size() > 64 || std::any_of(v->begin(), v->end(), [](char ch) { return !std::isgraph(static_cast<unsigned char>(ch)); })) {
            g.error(*g.find("name"), fmt::format("name = \"{}\" must be 1-64 printable characters without blanks", *v));
            ok = false;
        } else {
            vi.name = *v;
            instance_names_.insert(*v);
        }
    } else {
        if (!g.find("name")) g.missing("name");
        ok = false;
    }
    if (auto v = g.choice("state", {"MASTER", "BACKUP"})) vi.state = *v == "MASTER" ? VrrpState::Master : VrrpState::Backup;
    if (auto v = g.interface("interface")) {
        vi.interface = *v;
        vi.interface_where = where(*g.find("interface"));
    } else {
        if (!g.find("interface")) g.missing("interface");
        ok = false;
    }
    if (auto v = g.integer("virtual_router_id", 1, 255)) vi.virtual_router_id = static_cast<uint8_t>(*v);
    else {
        if (!g.find("virtual_router_id")) g.missing("virtual_router_id", "(1..255, the same on both balancers)");
        ok = false;
    }
    if (auto v = g.integer("priority", 1, 255)) vi.priority = static_cast<uint8_t>(*v);
    std::optional<int64_t> version = g.integer("version", 2, 3);
    vi.nopreempt = g.boolean("nopreempt").value_or(false);
    // use_vmac = true (the name vrrp.<VRID>, keepalived's default) or a name.
    if (const lc::Setting* vm = g.find("use_vmac")) {
        if (vm->getType() == lc::Setting::TypeBoolean) {
            if (static_cast<bool>(*vm)) vi.use_vmac = fmt::format("vrrp.{}", vi.virtual_router_id);
        } else if (auto name = g.interface("use_vmac")) {
            vi.use_vmac = *name;
        }
    }
    if (auto v = g.boolean("vmac_xmit_base")) vi.vmac_xmit_base = *v;
    if (vi.vmac_xmit_base && vi.use_vmac.empty() && g.find("vmac_xmit_base"))
        g.error(*g.find("vmac_xmit_base"), "vmac_xmit_base needs use_vmac");
    vi.dont_track_primary = g.boolean("dont_track_primary").value_or(false);
    if (auto v = g.seconds("preempt_delay", 0ms, 1000s)) vi.preempt_delay = *v;

    // Addresses decide the family (RFC 5798 §7.1: a virtual router is IPv4 or IPv6).
    std::vector<VirtualAddress> vips;
    // None is allowed, as keepalived allows it: the instance elects a master and its notify
    // commands do the rest (e.g. move a cloud provider's floating address).
    if (g.find("virtual_ipaddress"))
        for (auto* e : g.elements("virtual_ipaddress")) read_vip(g, *e, vi, vips);
    if (vips.empty()) {
        // Then the unicast addresses decide the family, else IPv4.
        std::optional<IpAddress> hint;
        if (const lc::Setting* s = g.find("unicast_src_ip"); s && s->getType() == lc::Setting::TypeString)
            hint = parse_address(s->c_str());
        if (!hint && g.find("unicast_peer"))
            for (auto* e : g.elements("unicast_peer"))
                if (e->getType() == lc::Setting::TypeString && (hint = parse_address(e->c_str()))) break;
        if (hint) vi.family = family_of(*hint);
    } else {
        vi.family = family_of(vips.front().prefix.address);
        for (auto& va : vips) {
            if (family_of(va.prefix.address) != vi.family) {
                error(va.where, fmt::format("{}: virtual_ipaddress {} is {} but the instance is {} (from {}); one VRRP "
                                            "instance carries one address family (RFC 5798 §7.1), use a second instance "
                                            "for the other family",
                                            context, va.prefix, family_name(family_of(va.prefix.address)),
                                            family_name(vi.family), vips.front().prefix));
                continue;
            }
            vi.virtual_ipaddress.push_back(va);
        }
        // The advert carries every address: the 8-bit count and one 1500-byte frame bound it.
        const std::size_t max = vi.family == Family::V4 ? 255 : 90;
        if (vi.virtual_ipaddress.size() > max)
            g.error(*g.find("virtual_ipaddress"), fmt::format("{} virtual addresses do not fit in one advertisement (at most {} {})",
                                                              vi.virtual_ipaddress.size(), max, family_name(vi.family)));
    }

    // Version: keepalived's default 2 for IPv4 (so that a keepalived peer with default
    // settings interoperates); IPv6 exists only in VRRPv3.
    if (version) {
        vi.version = static_cast<uint8_t>(*version);
        if (vi.version == 2 && vi.family == Family::V6 && !vips.empty())
            g.error(*g.find("version"), "version = 2 cannot carry IPv6 addresses (VRRPv2, RFC 3768, is IPv4 only); use version = 3");
    } else {
        vi.version = vi.family == Family::V6 ? 3 : global_->vrrp.version.value_or(2);
    }

    if (vips.empty() && vi.version == 3)
        error(vi.where, fmt::format("{}: no virtual_ipaddress; a VRRPv3 advert carries at least one address (RFC 5798 "
                                    "§5.2.5; keepalived refuses it too), only a version = 2 instance may have none",
                                    context));
    if (auto v = g.number("advert_int")) {
        const lc::Setting& at = *g.find("advert_int");
        const double cs = *v * 100.0;
        if (vi.version == 2) {
            if (*v < 1 || *v > 255 || std::fabs(*v - std::round(*v)) > 1e-9)
                g.error(at, fmt::format("advert_int = {} is not valid for VRRPv2: whole seconds 1..255 (RFC 3768 §5.3.7); "
                                        "sub-second adverts need version = 3", *v));
            else vi.advert_int = std::chrono::seconds(std::lround(*v));
        } else {
            if (cs < 1 - 1e-6 || cs > 4095 + 1e-6 || std::fabs(cs - std::round(cs)) > 1e-6)
                g.error(at, fmt::format("advert_int = {} is not valid for VRRPv3: a multiple of 0.01 s from 0.01 to 40.95 "
                                        "(RFC 5798 §5.2.7, 12-bit centiseconds)", *v));
            else vi.advert_int = Duration(std::lround(cs) * 10);
        }
    }

    if (vi.nopreempt && vi.state == VrrpState::Master)
        g.error(*g.find("nopreempt"), "nopreempt needs state = \"BACKUP\": with MASTER the instance takes over at start anyway");
    if (vi.nopreempt && vi.priority == 255)
        g.error(*g.find("nopreempt"), "nopreempt cannot apply to priority 255: the address owner always preempts (RFC 5798 §6.4.3)");

    // Unicast
    if (auto v = g.address("unicast_src_ip")) {
        if (v->is_unspecified() || v->is_multicast())
            g.error(*g.find("unicast_src_ip"), fmt::format("unicast_src_ip {} must be a unicast address of this host", *v));
        else if (!vips.empty() && family_of(*v) != vi.family)
            g.error(*g.find("unicast_src_ip"), fmt::format("unicast_src_ip {} is {} but the instance's addresses are {}", *v,
                                                           family_name(family_of(*v)), family_name(vi.family)));
        else {
            vi.unicast_src_ip = *v;
            vi.unicast_src_ip_where = where(*g.find("unicast_src_ip"));
        }
    }
    for (auto* e : g.elements("unicast_peer")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.error(*e, fmt::format("unicast_peer entries must be address strings, not {}", type_name(e->getType())));
            continue;
        }
        auto a = parse_address(e->c_str());
        if (!a) {
            g.error(*e, fmt::format("unicast_peer \"{}\" is not an IPv4 or IPv6 address", e->c_str()));
        } else if (a->is_unspecified() || a->is_multicast()) {
            g.error(*e, fmt::format("unicast_peer {} must be a unicast address", *a));
        } else if (vi.unicast_src_ip && family_of(*a) != family_of(*vi.unicast_src_ip)) {
            g.error(*e, fmt::format("unicast_peer {} is {} but unicast_src_ip {} is {}", *a, family_name(family_of(*a)),
                                    *vi.unicast_src_ip, family_name(family_of(*vi.unicast_src_ip))));
        } else if (!vips.empty() && family_of(*a) != vi.family) {
            g.error(*e, fmt::format("unicast_peer {} is {} but the instance's addresses are {}", *a,
                                    family_name(family_of(*a)), family_name(vi.family)));
        } else if (std::find(vi.unicast_peer.begin(), vi.unicast_peer.end(), *a) != vi.unicast_peer.end()) {
            g.error(*e, fmt::format("unicast_peer {} is listed twice", *a));
        } else if (vi.unicast_src_ip && *a == *vi.unicast_src_ip) {
            g.error(*e, fmt::format("unicast_peer {} is this host's own unicast_src_ip", *a));
        } else {
            vi.unicast_peer.push_back(*a);
        }
    }

    // Tracking
    for (auto* e : g.elements("track_interface")) {
        TrackInterface t;
        t.where = where(*e);
        if (e->getType() == lc::Setting::TypeString) {
            t.name = e->c_str();
        } else if (e->isGroup()) {
            Group tg(*this, *e, context + " track_interface", detail::keys_of("track_interface"));
            if (auto n = tg.string("interface")) t.name = *n;
            else if (!tg.find("interface")) tg.missing("interface");
            if (auto w = tg.integer("weight", -253, 253)) t.weight = static_cast<int>(*w);
            if (t.name.empty()) continue;
        } else {
            g.error(*e, fmt::format("track_interface entries must be interface names or groups "
                                    "{{ interface = ...; weight = ...; }}, not {}", type_name(e->getType())));
            continue;
        }
        if (!valid_ifname(t.name))
            g.error(*e, fmt::format("track_interface \"{}\" is not a valid interface name", t.name));
        else if (std::any_of(vi.track_interface.begin(), vi.track_interface.end(), [&](auto& x) { return x.name == t.name; }))
            g.error(*e, fmt::format("track_interface \"{}\" is listed twice", t.name));
        else
            vi.track_interface.push_back(std::move(t));
    }
    read_refs(g, "track_script", context, "vrrp_scripts", 253, vi.track_script);
    read_refs(g, "track_process", context, "vrrp_track_processes", 254, vi.track_process);
    read_refs(g, "track_file", context, "vrrp_track_files", 254, vi.track_file);
    if (auto* ta = g.find("track_arp_target")) {
        if (!ta->isGroup()) {
            g.wrong_type(*ta, "track_arp_target", "a group { targets = [ ... ]; fall = ...; }");
        } else {
            Group tg(*this, *ta, context + " track_arp_target", detail::keys_of("track_arp_target"));
            TrackArpTarget t;
            t.where = tg.where();
            for (auto* e : tg.elements("targets")) {
                std::optional<IpAddress> a;
                if (e->getType() == lc::Setting::TypeString) a = parse_address(e->c_str());
                if (!a || a->is_unspecified() || a->is_multicast())
                    tg.error(*e, fmt::format("targets: {} is not a unicast IPv4 or IPv6 address", show(*e)));
                else if (!vips.empty() && family_of(*a) != vi.family)
                    tg.error(*e, fmt::format("targets: {} is {} but the instance is {}", *a, family_name(family_of(*a)), family_name(vi.family)));
                else t.targets.push_back(*a);
            }
            if (!tg.find("targets")) tg.missing("targets");
            else if (t.targets.empty() && tg.find("targets")->getLength() == 0) tg.error(*tg.find("targets"), "targets is empty");
            if (auto v = tg.seconds("interval", 100ms, 3600s)) t.interval = *v;
            if (auto v = tg.integer("fall", 1, 255)) t.fall = static_cast<uint32_t>(*v);
            if (auto v = tg.integer("weight", -253, 253)) t.weight = static_cast<int>(*v);
            if (!t.targets.empty()) vi.track_arp_target = std::move(t);
        }
    }

    // Gratuitous ARP / unsolicited NA after takeover (keepalived's names and defaults;
    // global_defs' vrrp_garp_* / vrrp_gna_interval first).
    const auto& dflt = global_->vrrp;
    if (dflt.garp_master_delay) vi.garp_master_delay = *dflt.garp_master_delay;
    if (dflt.garp_master_repeat) vi.garp_master_repeat = *dflt.garp_master_repeat;
    if (vi.family == Family::V6 ? dflt.gna_interval.has_value() : dflt.garp_interval.has_value())
        vi.garp_interval = vi.family == Family::V6 ? *dflt.gna_interval : *dflt.garp_interval;
    if (dflt.garp_master_refresh) vi.garp_master_refresh = *dflt.garp_master_refresh;
    if (dflt.garp_master_refresh_repeat) vi.garp_master_refresh_repeat = *dflt.garp_master_refresh_repeat;
    if (auto v = g.seconds("garp_master_delay", 0ms, 3600s)) vi.garp_master_delay = *v;
    if (auto v = g.integer("garp_master_repeat", 1, 255)) vi.garp_master_repeat = static_cast<uint32_t>(*v);
    if (auto v = g.seconds("garp_interval", 0ms, 10s)) vi.garp_interval = *v;
    if (auto v = g.seconds("garp_master_refresh", 0ms, 86400s)) vi.garp_master_refresh = *v;
    if (auto v = g.integer("garp_master_refresh_repeat", 1, 255)) vi.garp_master_refresh_repeat = static_cast<uint32_t>(*v);

    if (auto* au = g.find("authentication")) {
        if (!au->isGroup()) {
            g.wrong_type(*au, "authentication", "a group { auth_type = \"PASS\"; auth_pass = \"...\"; }");
        } else {
            Group ag(*this, *au, context + " authentication", detail::keys_of("authentication"));
            if (vi.version == 3)
                ag.error("VRRPv3 has no authentication (RFC 5798 §9 removed it); remove this group or use version = 2");
            auto type = ag.string("auth_type");
            // AH (IPsec Authentication Header, vrrp/ah.hpp) is VRRPv2 over IPv4 only, as in keepalived.
            if (type && *type == "AH" && vi.family != Family::V4)
                ag.error(*ag.find("auth_type"), "auth_type = \"AH\" is for VRRPv2 over IPv4 only (as in keepalived)");
            else if (type && *type != "PASS" && *type != "AH")
                ag.error(*ag.find("auth_type"), fmt::format("auth_type = \"{}\" is not \"PASS\" or \"AH\"", *type));
            else if (!ag.find("auth_type"))
                ag.missing("auth_type", "(\"PASS\" or \"AH\")");
            if (auto p = ag.string("auth_pass")) {
                if (p->empty() || p->size() > 8)
                    ag.error(*ag.find("auth_pass"), fmt::format("auth_pass has {} characters; VRRPv2 carries 1 to 8 "
                                                                "(RFC 3768 §5.3.10; keepalived would cut it silently)", p->size()));
                else if (type && (*type == "PASS" || *type == "AH") && vi.version == 2) {
                    vi.auth_pass = *p;
                    vi.auth_ah = *type == "AH";
                }
            } else if (!ag.find("auth_pass")) {
                ag.missing("auth_pass");
            }
        }
    }

    read_notify(g, vi.notify);

    // An instance with errors is still returned when its identity (name, interface, VRID,
    // family) is sound, so that the cross-checks (duplicate VRID, VIP in two instances)
    // see it; the Config as a whole is rejected anyway.
    if (!ok || (vi.virtual_ipaddress.empty() && !vips.empty())) return std::nullopt;
    return vi;
}

std::optional<VrrpSyncGroup> Loader::read_sync_group(const lc::Setting& s, std::size_t index) {
    VrrpSyncGroup sg;
    sg.where = where(s);
    std::string context = fmt::format("vrrp_sync_groups[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp sync group \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_sync_groups"));
    if (auto v = g.string("name")) sg.name = *v;
    if (!g.find("name")) g.missing("name");
    else if (sg.name.empty() && g.find("name")->getType() == lc::Setting::TypeString) g.error(*g.find("name"), "name is empty");
    for (auto* e : g.elements("group")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.error(*e, fmt::format("group entries must be instance names, not {}", type_name(e->getType())));
            continue;
        }
        std::string name = e->c_str();
        if (std::find(sg.group.begin(), sg.group.end(), name) != sg.group.end())
            g.error(*e, fmt::format("group lists \"{}\" twice", name));
        else sg.group.push_back(name);
    }
    if (!g.find("group")) g.missing("group", "(the instances that change state together)");
    else if (g.find("group")->getLength() == 0) g.error(*g.find("group"), "group is empty");
    read_notify(g, sg.notify);
    read_refs(g, "track_script", context, "vrrp_scripts", 253, sg.track_script);
    if (sg.name.empty()) return std::nullopt;
    return sg;
}

std::optional<StatusCodes> Loader::read_status_codes(Group& g) {
    const lc::Setting* s = g.find("status_code");
    if (!s) return std::nullopt;
    StatusCodes codes;
    auto bad = [&](const std::string& what) {
        g.error(*s, fmt::format("status_code {} is not a status code 100..599, a range \"200-299\" or a list of them", what));
    };
    if (s->getType() == lc::Setting::TypeInt) {
        const int v = *s;
        if (v < 100 || v > 599) return bad(show(*s)), std::nullopt;
        codes.emplace_back(v, v);
    } else if (s->getType() == lc::Setting::TypeString || s->isArray() || s->isList()) {
        std::vector<std::string> parts;
        if (s->getType() == lc::Setting::TypeString) {
            std::stringstream ss(s->c_str());
            for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
        } else {
            for (int i = 0; i < s->getLength(); ++i) {
                const lc::Setting& e = (*s)[i];
                if (e.getType() == lc::Setting::TypeInt) parts.push_back(std::to_string(static_cast<int>(e)));
                else if (e.getType() == lc::Setting::TypeString) parts.push_back(e.c_str());
                else return bad(show(e)), std::nullopt;
            }
        }
        if (parts.empty()) return bad("(empty)"), std::nullopt;
        for (auto p : parts) {
            p.erase(0, p.find_first_not_of(' '));
            p.erase(p.find_last_not_of(' ') + 1);
            unsigned lo = 0, hi = 0;
            const auto dash = p.find('-');
            auto num = [](std::string_view t, unsigned& out) {
                auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
                return !t.empty() && ec == std::errc{} && ptr == t.data() + t.size();
            };
            const bool parsed = dash == std::string::npos ? (num(p, lo) && ((hi = lo), true))
                                                          : (num(std::string_view(p).substr(0, dash), lo) &&
                                                             num(std::string_view(p).substr(dash + 1), hi));
            if (!parsed || lo < 100 || hi > 599 || lo > hi) return bad(fmt::format("\"{}\"", p)), std::nullopt;
            codes.emplace_back(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
        }
    } else {
        return bad(fmt::format("({})", type_name(s->getType()))), std::nullopt;
    }
    return codes;
}

// "http://host[:port]/path" -> the Host header value, or an error text.
std::variant<std::string, std::string> parse_proxy_url(std::string_view url) {
    using R = std::variant<std::string, std::string>;
    auto fail = [](std::string why) { return R(std::in_place_index<1>, std::move(why)); };
    if (url.starts_with("https://"))
        return fail("https:// would need CONNECT and TLS; PROXY_CHECK sends plain GET requests, use an http:// URL");
    if (!url.starts_with("http://")) return fail("must start with http://");
    if (url.find_first_of(" \t\r\n") != std::string_view::npos) return fail("contains blanks or line breaks");
    std::string_view rest = url.substr(7);
    const auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    if (authority.find('@') != std::string_view::npos) return fail("user credentials in the URL are not supported");
    std::string_view host = authority, port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("has an unterminated [IPv6] host");
        host = authority.substr(1, close - 1);
        if (!parse_address(host) || !parse_address(host)->is_v6()) return fail("has a bad [IPv6] host");
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return fail("has junk after the [IPv6] host");
            port = after.substr(1);
        }
    } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return fail("has no host");
    if (!authority.starts_with('[') &&
        !std::all_of(host.begin(), host.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }))
        return fail("has an invalid host name");
    if (!port.empty() || authority.ends_with(':')) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p < 1 || p > 65535)
            return fail("has a port outside 1..65535");
    }
    return R(std::in_place_index<0>, std::string(authority));
}

// Why lvsd refuses to run `path` as `uid` (keepalived's enable_script_security, which
// lvsd always applies): the file or a directory above it can be rewritten by someone
// other than root and `uid` (an owner may chmod at will; group and others by mode bits,
// except in a sticky directory such as /tmp, where only a file's owner can replace it).
std::optional<std::string> script_problem(const std::string& path, uint32_t uid) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("'{}': {}", path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fmt::format("'{}' is a directory, not an executable file", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("'{}' is not a regular file", path);
    if ((st.st_mode & 0111) == 0) return fmt::format("'{}' is not executable (mode {:04o})", path, st.st_mode & 07777);
    const char* as = uid == 0 ? "root" : "its user";
    std::string at = path;
    bool file = true;
    while (true) {
        struct stat a {};
        if (::stat(at.c_str(), &a) != 0) return fmt::format("'{}': {}", at, std::strerror(errno));
        if (a.st_uid != 0 && a.st_uid != uid)
            return fmt::format("{} '{}' is owned by uid {}, who could rewrite what lvsd runs as {}",
                               file ? "the script" : "the directory", at, a.st_uid, as);
        const bool sticky_dir = !file && (a.st_mode & S_ISVTX);
        if ((a.st_mode & 0022) && !sticky_dir)
            return fmt::format("{} '{}' is writable by group or others (mode {:04o}) but would run as {}",
                               file ? "the script" : "the directory", at, a.st_mode & 07777, as);
        if (at == "/") break;
        const auto slash = at.rfind('/');
        at = slash == 0 ? "/" : at.substr(0, slash);
        file = false;
    }
    return std::nullopt;
}

std::optional<MiscProbe> Loader::read_misc(Group& g) {
    MiscProbe p;
    bool ok = true;
    if (auto v = g.boolean("misc_dynamic")) p.dynamic = *v;
    if (auto v = g.string("user")) {
        const lc::Setting& at = *g.find("user");
        auto words = detail::split_command(*v).value_or(std::vector<std::string>{});
        const struct passwd* pw = words.empty() || words.size() > 2 ? nullptr : ::getpwnam(words[0].c_str());
        if (words.empty() || words.size() > 2) {
            g.error(at, fmt::format("user = \"{}\" must be \"USER\" or \"USER GROUP\"", *v));
            ok = false;
        } else if (!pw && host_checks()) {
            g.error(at, fmt::format("user \"{}\" is not known on this host", words[0]));
            ok = false;
        } else if (!pw) {
            p.user = ScriptUser{*v, 0, 0};  // checked on the host that runs it
        } else {
            ScriptUser u{*v, pw->pw_uid, pw->pw_gid};
            if (words.size() == 2) {
                if (const struct group* gr = ::getgrnam(words[1].c_str())) u.gid = gr->gr_gid;
                else g.error(at, fmt::format("group \"{}\" is not known on this host", words[1])), ok = false;
            }
            p.user = u;
        }
    } else if (g.find("user")) {
        ok = false;
    }
    auto text = g.string("misc_path");
    if (!text) {
        if (!g.find("misc_path")) g.missing("misc_path", "(the command to run)");
        return std::nullopt;
    }
    const lc::Setting& at = *g.find("misc_path");
    p.text = *text;
    auto words = detail::split_command(*text);
    if (!words) {
        g.error(at, fmt::format("misc_path: unterminated quote in: {}", *text));
        return std::nullopt;
    }
    if (words->empty()) {
        g.error(at, "misc_path is empty; give the command to run");
        return std::nullopt;
    }
    // A shell only when the text needs one (a pipe, a redirection, a variable...).
    const bool shell = detail::needs_shell(*text);
    p.argv = shell ? std::vector<std::string>{"/bin/sh", "-c", *text} : *words;
    const std::string& exe = words->front();
    if (!shell && exe.front() != '/') {
        g.error(at, fmt::format("misc_path: '{}' is not an absolute path (lvsd runs it without a shell or PATH)", exe));
        return std::nullopt;
    }
    const uint32_t uid = p.user ? p.user->uid : 0;
    if (!host_checks()) return ok ? std::optional<MiscProbe>(std::move(p)) : std::nullopt;
    for (const std::string& file : shell ? std::vector<std::string>{"/bin/sh"} : std::vector<std::string>{exe})
        if (auto why = script_problem(file, uid)) {
            g.error(at, fmt::format("misc_path: {}", *why));
            return std::nullopt;
        }
    // A script run through the shell is checked too when the text starts with its path.
    if (shell && exe.front() == '/' && exe.find_first_of("|&;<>()$`*?[{") == std::string::npos)
        if (auto why = script_problem(exe, uid)) {
            g.error(at, fmt::format("misc_path: {}", *why));
            return std::nullopt;
        }
    if (!ok) return std::nullopt;
    return p;
}

// path, status_code and digest: in HTTP_GET itself or in each of its url entries.
void Loader::read_http_target(Group& g, HttpProbe& p) {
    if (auto v = g.string("path")) {
        if (!v->starts_with('/') || v->find_first_of(" \t\r\n") != std::string::npos)
            g.error(*g.find("path"), fmt::format("path = \"{}\" must start with '/' and contain no blanks or line breaks", *v));
        else p.path = *v;
    }
    if (auto v = read_status_codes(g)) p.status_code = *v;
    if (auto v = g.string("digest")) {
        // keepalived's genhash prints the MD5 as 32 hex digits.
        std::string d = *v;
        std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (d.size() != 32 || !std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isxdigit(c); }))
            g.error(*g.find("digest"), fmt::format("digest = \"{}\" must be an MD5 in 32 hex digits (as genhash prints it)", *v));
        else p.digest = d;
    }
}

std::vector<HealthCheck> Loader::read_check(const lc::Setting& s, std::string_view kind, const RealServer& rs,
                                            const VirtualServer& vs, const std::string& rs_context) {
    Group g(*this, s, fmt::format("{} of {}", kind, rs_context), detail::keys_of(kind),
            kind == "SMTP_CHECK" ? &kSmtpCheckHints : nullptr);
    const std::size_t errors_before = diagnostics_.size();
    HealthCheck hc;
    std::vector<HealthCheck> url_checks;  // HTTP_GET with url entries: one check each
    hc.where = g.where();
    hc.connect_ip = rs.address;
    hc.delay_loop = vs.delay_loop;
    hc.initially_up = !vs.alpha;
    const bool network = kind != "MISC_CHECK";  // MISC_CHECK has no target of its own
    if (!network) {
        hc.connect_port = rs.port;
    } else if (auto v = g.address("connect_ip")) {
        if (v->is_unspecified() || v->is_multicast()) g.error(*g.find("connect_ip"), fmt::format("connect_ip {} must be a unicast address", *v));
        else hc.connect_ip = *v;
    }
    if (!network) {
    } else if (auto v = g.integer("connect_port", 1, 65535)) {
        hc.connect_port = static_cast<uint16_t>(*v);
    } else if (!g.find("connect_port")) {
        hc.connect_port = rs.port;
        // A real server without a port (fwmark or all-ports service): SMTP has its own,
        // 25 (RFC 5321 section 4.5.4.2).
        if (rs.port == 0 && kind == "SMTP_CHECK") hc.connect_port = 25;
        else if (rs.port == 0 && vs_port_known_)
            g.error("the real server has no port (fwmark or all-ports service), so the check needs connect_port");
    }
    if (auto v = network ? g.address("bindto") : std::nullopt) {
        if (family_of(*v) != family_of(hc.connect_ip))
            g.error(*g.find("bindto"), fmt::format("bindto {} is {} but the check connects to {} ({})", *v,
                                                   family_name(family_of(*v)), hc.connect_ip, family_name(family_of(hc.connect_ip))));
        else hc.bindto = *v;
    }
    if (auto v = network ? g.integer("bind_port", 1, 65535) : std::nullopt) hc.bind_port = static_cast<uint16_t>(*v);
    if (auto v = network ? g.seconds("connect_timeout", 1ms, 3600s) : std::nullopt) hc.connect_timeout = *v;
    if (auto v = g.seconds("delay_loop", 100ms, 86400s)) hc.delay_loop = *v;
    if (auto v = g.seconds("delay_before_retry", 0ms, 3600s)) hc.delay_before_retry = *v;
    // keepalived's retry counts the attempts *after* the first failure.
    auto retry = g.integer("retry", 0, 99);
    auto fall = g.integer("fall", 1, 100);
    if (g.find("retry") && g.find("fall"))
        g.error(*g.find("fall"), "give either retry (keepalived: failures after the first) or fall (consecutive failures), not both");
    else if (retry) hc.fall = static_cast<uint32_t>(*retry + 1);
    else if (fall) hc.fall = static_cast<uint32_t>(*fall);
    if (auto v = g.integer("rise", 1, 100)) hc.rise = static_cast<uint32_t>(*v);

    if (kind == "TCP_CHECK") {
        TcpProbe p;
        if (auto v = g.boolean("half_open")) p.half_open = *v;
        hc.probe = p;
    } else if (kind == "HTTP_GET" || kind == "SSL_GET") {
        HttpProbe p;
        read_http_target(g, p);
        if (kind == "SSL_GET") {
            p.tls = true;
            if (auto v = g.boolean("ssl_verify")) p.ssl_verify = *v;
            if (auto v = g.string("ssl_ca")) {
                const lc::Setting& at = *g.find("ssl_ca");
                struct stat st {};
                if (v->empty() || v->front() != '/') g.error(at, fmt::format("ssl_ca \"{}\" must be an absolute path", *v));
                else if (!host_checks() && p.ssl_verify) p.ssl_ca = *v;
                else if (::stat(v->c_str(), &st) != 0) g.error(at, fmt::format("ssl_ca '{}': {}", *v, std::strerror(errno)));
                else if (!S_ISREG(st.st_mode)) g.error(at, fmt::format("ssl_ca '{}' is not a regular file (a PEM bundle)", *v));
                else if (!p.ssl_verify) g.error(at, "ssl_ca is used only with ssl_verify = true");
                else p.ssl_ca = *v;
            }
        }
        if (auto v = g.string("virtualhost")) {
            if (v->empty() || v->find_first_of(" \t\r\n") != std::string::npos)
                g.error(*g.find("virtualhost"), fmt::format("virtualhost = \"{}\" must be a host name without blanks", *v));
            else p.virtualhost = *v;
        }
        if (auto v = g.string("body_contains")) p.body_contains = *v;
        hc.probe = p;
        // keepalived's several `url { path; digest; status_code; }` blocks: each is probed
        // as a check of its own (same settings), and the real server needs them all.
        if (const lc::Setting* u = g.find("url")) {
            for (const char* direct : {"path", "status_code", "digest"})
                if (g.find(direct))
                    g.error(*g.find(direct), fmt::format("{} is given both here and in url entries; give it in each url entry", direct));
            std::vector<const lc::Setting*> entries;
            if (u->isGroup()) entries.push_back(u);
            else if (u->isList() && u->getLength() > 0)
                for (int i = 0; i < u->getLength(); ++i) entries.push_back(&(*u)[i]);
            else g.wrong_type(*u, "url", "a group { path = ...; } or a non-empty list of them");
            for (std::size_t i = 0; i < entries.size(); ++i) {
                if (!entries[i]->isGroup()) {
                    g.wrong_type(*entries[i], fmt::format("url[{}]", i), "a group { path = ...; }");
                    continue;
                }
                Group ug(*this, *entries[i], fmt::format("url {} of {}", i + 1, g.context()), detail::keys_of("url"));
                HttpProbe one = p;
                one.path = "/";
                one.status_code = HttpProbe{}.status_code;
                one.digest.clear();
                read_http_target(ug, one);
                if (!ug.find("path")) ug.missing("path");
                HealthCheck each = hc;
                each.probe = std::move(one);
                each.where = ug.where();
                url_checks.push_back(std::move(each));
            }
        }
    } else if (kind == "UDP_CHECK") {
        UdpProbe p;
        if (auto v = g.string("payload")) {
            // keepalived writes the payload as hex digits (blanks allowed between bytes).
            std::string hex;
            for (char ch : *v)
                if (ch != ' ' && ch != ':') hex += ch;
            bool ok = hex.size() % 2 == 0 && hex.size() <= 2 * 1400 &&
                      std::all_of(hex.begin(), hex.end(), [](unsigned char ch) { return std::isxdigit(ch); });
            if (!ok) {
                g.error(*g.find("payload"), fmt::format("payload = \"{}\" must be hex digits, two per byte, at most 1400 bytes", *v));
            } else {
                for (std::size_t i = 0; i < hex.size(); i += 2)
                    p.payload += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
            }
        }
        if (auto v = g.boolean("require_reply")) p.require_reply = *v;
        hc.probe = std::move(p);
    } else if (kind == "DNS_CHECK") {
        DnsProbe p;
        // keepalived's DNS_CHECK types.
        if (auto v = g.choice("type", {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"})) p.type = *v;
        if (auto v = g.string("name")) {
            // A domain name in presentation form: labels of 1-63 characters, 253 in all.
            std::string_view n = *v;
            bool ok = !n.empty() && n.size() <= 254 && n.find_first_of(" \t\r\n\\") == std::string_view::npos;
            if (ok && n != ".") {
                std::string_view rest = n.ends_with('.') ? n.substr(0, n.size() - 1) : n;
                while (ok && !rest.empty()) {
                    const auto dot = rest.find('.');
                    const auto label = rest.substr(0, dot);
                    ok = !label.empty() && label.size() <= 63;
                    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
                    if (dot != std::string_view::npos && rest.empty()) ok = false;
                }
            }
            if (!ok) g.error(*g.find("name"), fmt::format("name = \"{}\" is not a domain name (labels of 1-63 characters, no blanks)", *v));
            else p.name = *v;
        }
        hc.probe = std::move(p);
    } else if (kind == "SMTP_CHECK") {
        SmtpProbe p;
        if (auto v = g.string("helo_name")) {
            // It ends up on the HELO command line: no blanks or line breaks (a second command).
            const bool ok = !v->empty() && v->size() <= 255 && std::all_of(v->begin(), v->end(), [](unsigned char c) {
                return c > 0x20 && c < 0x7f;
            });
            if (!ok)
                g.error(*g.find("helo_name"), fmt::format("helo_name = \"{}\" must be a host name or address literal: 1-255 "
                                                          "visible ASCII characters, no blanks", *v));
            else p.helo_name = *v;
        }
        hc.probe = std::move(p);
    } else if (kind == "MISC_CHECK") {
        // keepalived: misc_timeout defaults to the check's delay_loop.
        hc.connect_timeout = hc.delay_loop;
        if (auto v = g.seconds("misc_timeout", 1ms, 3600s)) hc.connect_timeout = *v;
        if (auto p = read_misc(g)) hc.probe = std::move(*p);
    } else {
        ProxyProbe p;
        if (auto v = g.string("url")) {
            auto r = parse_proxy_url(*v);
            if (r.index() == 1) g.error(*g.find("url"), fmt::format("url \"{}\" {}", *v, std::get<1>(r)));
            else p.url = *v, p.host = std::get<0>(r);
        } else if (!g.find("url")) {
            g.missing("url", "(the absolute http:// URL to fetch through the proxy)");
        }
        if (auto v = read_status_codes(g)) p.status_code = *v;
        hc.probe = std::move(p);
    }
    if (diagnostics_.size() != errors_before) return {};
    if (!url_checks.empty()) return url_checks;
    return {hc};
}

std::optional<Forwarding> parse_forwarding(Group& g) {
    auto v = g.choice("lb_kind", {"DR", "NAT", "TUN"});
    if (!v) return std::nullopt;
    return *v == "DR" ? Forwarding::DirectRouting : *v == "NAT" ? Forwarding::Nat : Forwarding::Tunnel;
}

std::optional<RealServer> Loader::read_real_server(const lc::Setting& s, const VirtualServer& vs, const std::string& vs_name) {
    RealServer rs;
    rs.where = where(s);
    rs.lb_kind = vs.lb_kind;
    rs.inhibit_on_failure = vs.inhibit_on_failure;
    std::string context = fmt::format("real server of {}", vs_name);
    // Name the real server in messages as address:port when both are readable.
    if (s.exists("address") && s["address"].getType() == lc::Setting::TypeString) {
        if (auto a = parse_address(s["address"].c_str())) {
            int port = vs.port;
            if (s.exists("port") && s["port"].getType() == lc::Setting::TypeInt) port = s["port"];
            context = fmt::format("real server {} of {}",
                                  port > 0 && port <= 65535 ? format_endpoint(*a, static_cast<uint16_t>(port)) : a->to_string(),
                                  vs_name);
        }
    }
    Group g(*this, s, context, detail::keys_of("real_servers"));
    const std::size_t errors_before = diagnostics_.size();
    bool identity_ok = true;  // address and port, the IPVS destination key

    if (auto v = g.address("address")) {
        if (v->is_unspecified() || v->is_multicast()) {
            g.error(*g.find("address"), fmt::format("address {} must be a unicast address", *v));
            identity_ok = false;
        } else {
            rs.address = *v;
        }
    } else {
        if (!g.find("address")) g.missing("address");
        identity_ok = false;
    }
    if (auto v = parse_forwarding(g)) rs.lb_kind = *v;
    const bool any_port = vs.fwmark || vs_ports_vary_;
    if (auto v = g.integer("port", any_port ? 0 : 1, 65535)) rs.port = static_cast<uint16_t>(*v);
    else if (!g.find("port")) rs.port = vs.port;
    else identity_ok = false;
    // DR and TUN deliver the packet unchanged: the real server sees the service's port.
    if (!any_port && identity_ok && rs.lb_kind != Forwarding::Nat && g.find("port") && rs.port != vs.port && vs.port != 0)
        g.error(*g.find("port"), fmt::format("port {} differs from the service's port {}, but {} cannot change the destination "
                                             "port (only NAT can)", rs.port, vs.port, to_string(rs.lb_kind)));
    if (auto v = g.integer("weight", 0, 65535)) rs.weight = static_cast<uint32_t>(*v);
    if (auto v = g.integer("uthreshold", 0, 2147483647)) rs.uthreshold = static_cast<uint32_t>(*v);
    if (auto v = g.integer("lthreshold", 0, 2147483647)) rs.lthreshold = static_cast<uint32_t>(*v);
    if (rs.uthreshold && rs.lthreshold > rs.uthreshold)
        g.error(*g.find("lthreshold"), fmt::format("lthreshold {} is above uthreshold {}", rs.lthreshold, rs.uthreshold));
    else if (!rs.uthreshold && rs.lthreshold)
        g.error(*g.find("lthreshold"), "lthreshold needs uthreshold (IPVS only lowers a server's load back below it)");
    if (auto v = g.boolean("inhibit_on_failure")) rs.inhibit_on_failure = *v;
    rs.notify_up = g.command("notify_up");
    rs.notify_down = g.command("notify_down");
    if (vs_family_known_ && g.find("address") && !rs.address.is_unspecified() && family_of(rs.address) != vs.family &&
        rs.lb_kind != Forwarding::Tunnel)
        g.error(*g.find("address"), fmt::format("address {} is {} but the service is {}; only TUN forwards across families",
                                                rs.address, family_name(family_of(rs.address)), family_name(vs.family)));

    // Each kind takes one group, or a list of groups for several checks of that kind
    // (libconfig has no repeated keys); every check must be up for the server to be.
    for (std::string_view kind : {"TCP_CHECK", "HTTP_GET", "SSL_GET", "PROXY_CHECK", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK",
                                 "SMTP_CHECK"}) {
        const lc::Setting* c = g.find(kind);
        if (!c) continue;
        std::vector<std::pair<const lc::Setting*, std::string>> groups;
        if (c->isGroup()) {
            groups.emplace_back(c, context);
        } else if (c->isList()) {
            if (c->getLength() == 0) g.error(*c, fmt::format("{} is an empty list; remove it or give at least one {{ ... }}", kind));
            for (int i = 0; i < c->getLength(); ++i) {
                if (!(*c)[i].isGroup()) {
                    g.wrong_type((*c)[i], fmt::format("{}[{}]", kind, i), "a group { ... }");
                    continue;
                }
                groups.emplace_back(&(*c)[i], fmt::format("{} (check {} of {})", context, i + 1, c->getLength()));
            }
        } else {
            g.wrong_type(*c, kind, "a group { ... } or a list of groups ( { ... }, { ... } )");
            continue;
        }
        for (const auto& [setting, where] : groups)
            for (auto& hc : read_check(*setting, kind, rs, vs, where)) rs.checks.push_back(std::move(hc));
    }
    if (diagnostics_.size() != errors_before) rs.checks.clear();
    if (!identity_ok) return std::nullopt;
    return rs;
}

std::optional<VirtualServer> Loader::read_virtual_server(const lc::Setting& s, std::size_t index) {
    VirtualServer vs;
    vs.where = where(s);
    // Name the service as ipvsadm does when its key is readable, else by position.
    std::string context = fmt::format("virtual_servers[{}]", index);
    auto peek_int = [&](const char* k) -> std::optional<long long> {
        if (!s.exists(k) || (s[k].getType() != lc::Setting::TypeInt && s[k].getType() != lc::Setting::TypeInt64)) return std::nullopt;
        return s[k].getType() == lc::Setting::TypeInt ? static_cast<int>(s[k]) : static_cast<long long>(s[k]);
    };
    if (s.exists("group") && s["group"].getType() == lc::Setting::TypeString) {
        context = fmt::format("virtual server group \"{}\"", s["group"].c_str());
    } else if (auto mark = peek_int("fwmark"); mark && *mark > 0) {
        context = fmt::format("virtual server FWM {}", *mark);
    } else if (s.exists("address") && s["address"].getType() == lc::Setting::TypeString) {
        if (auto a = parse_address(s["address"].c_str())) {
            std::string proto = "TCP";
            if (s.exists("protocol") && s["protocol"].getType() == lc::Setting::TypeString) proto = s["protocol"].c_str();
            auto port = peek_int("port");
            context = port && *port >= 0 && *port <= 65535
                          ? fmt::format("virtual server {} {}", proto, format_endpoint(*a, static_cast<uint16_t>(*port)))
                          : fmt::format("virtual server {} {}", proto, a->to_string());
        }
    }
    Group g(*this, s, context, detail::keys_of("virtual_servers"));
    bool identity_ok = true;  // address, port and protocol, or fwmark: the IPVS service key
    bool port_ok = true;
    bool family_ok = true;

    const bool by_group = g.find("group") != nullptr;
    const bool by_mark = !by_group && g.find("fwmark") != nullptr;
    if (by_group) {
        for (auto k : {"address", "port", "fwmark"})
            if (g.find(k))
                g.error(*g.find(k), fmt::format("{} does not apply to a virtual server with a group (the group's entries are "
                                                "its services)", k));
        const VirtualServerGroup* group = nullptr;
        if (auto v = g.string("group")) {
            auto it = std::find_if(groups_->begin(), groups_->end(), [&](auto& x) { return x.name == *v; });
            if (it != groups_->end()) {
                group = &*it;
                vs.group = *v;
            } else if (!group_names_.count(*v)) {  // a broken group was reported already
                std::vector<std::string_view> names;
                for (auto& x : *groups_) names.push_back(x.name);
                std::string msg = fmt::format("group \"{}\" is not a virtual_server_group", *v);
                if (auto near = detail::nearest(*v, names)) msg += fmt::format("; did you mean '{}'?", *near);
                g.error(*g.find("group"), msg);
            }
        }
        if (!group) identity_ok = port_ok = family_ok = false;
        if (auto v = g.choice("protocol", {"TCP", "UDP", "SCTP"}))
            vs.protocol = *v == "TCP" ? Protocol::Tcp : *v == "UDP" ? Protocol::Udp : Protocol::Sctp;
        else if (g.find("protocol")) identity_ok = false;
        // The settings below are checked against one member standing for all: the first
        // address entry (the family and, when all agree, the port) or else the first mark.
        if (group) {
            const GroupMember* addr = nullptr;
            bool ports_agree = true;
            for (auto& m : group->members)
                if (!m.fwmark) {
                    if (!addr) addr = &m;
                    else if (m.port != addr->port) ports_agree = false;
                }
            const bool open = mark_family_open_.count(group->name) > 0;
            if (auto v = g.choice("ip_family", {"inet", "inet6"})) {
                vs.family = *v == "inet" ? Family::V4 : Family::V6;
                if (!open)
                    g.error(*g.find("ip_family"), "ip_family only applies to a group's fwmark entries written without "
                                                  "inet or inet6; this group's entries give the family");
            } else if (addr) {
                vs.family = addr->family;
            } else {
                vs.family = group->members.front().family;
                if (open) {  // as for a fwmark service: the real servers' family
                    const lc::Setting* rsl = g.find("real_servers");
                    if (rsl && rsl->isList() && rsl->getLength() > 0) {
                        const lc::Setting& r0 = (*rsl)[0];
                        if (r0.isGroup() && r0.exists("address") && r0["address"].getType() == lc::Setting::TypeString)
                            if (auto a = parse_address(r0["address"].c_str())) vs.family = family_of(*a);
                    }
                }
            }
            if (addr) {
                vs.address = addr->address;
                vs.port = ports_agree ? addr->port : 0;
                vs_ports_vary_ = !ports_agree || addr->port == 0 ||
                                 std::any_of(group->members.begin(), group->members.end(), [](auto& m) { return m.fwmark != 0; });
            } else {
                vs.fwmark = group->members.front().fwmark;
            }
        }
    } else if (by_mark) {
        if (auto v = g.integer("fwmark", 1, kU32Max)) vs.fwmark = static_cast<uint32_t>(*v);
        else identity_ok = false;
        for (auto k : {"address", "port", "protocol"})
            if (g.find(k)) g.error(*g.find(k), fmt::format("{} does not apply to a fwmark service (the mark selects the packets)", k));
        if (auto v = g.choice("ip_family", {"inet", "inet6"})) vs.family = *v == "inet" ? Family::V4 : Family::V6;
        else if (!g.find("ip_family")) {
            // The real servers' family, as keepalived does.
            const lc::Setting* rsl = g.find("real_servers");
            if (rsl && rsl->isList() && rsl->getLength() > 0) {
                const lc::Setting& r0 = (*rsl)[0];
                if (r0.isGroup() && r0.exists("address") && r0["address"].getType() == lc::Setting::TypeString)
                    if (auto a = parse_address(r0["address"].c_str())) vs.family = family_of(*a);
            }
        }
    } else {
        if (g.find("ip_family")) g.error(*g.find("ip_family"), "ip_family only applies to fwmark services; the address gives the family");
        if (auto v = g.address("address")) {
            if (v->is_unspecified() || v->is_multicast()) {
                g.error(*g.find("address"), fmt::format("address {} must be a unicast address", *v));
                identity_ok = false;
            }
            vs.address = *v;
            vs.family = family_of(*v);
        } else {
            if (!g.find("address")) g.missing("address", "(or fwmark)");
            identity_ok = family_ok = false;
        }
        if (auto v = g.integer("port", 0, 65535)) {
            vs.port = static_cast<uint16_t>(*v);
        } else {
            if (!g.find("port")) g.missing("port");
            identity_ok = port_ok = false;
        }
        if (auto v = g.choice("protocol", {"TCP", "UDP", "SCTP"}))
            vs.protocol = *v == "TCP" ? Protocol::Tcp : *v == "UDP" ? Protocol::Udp : Protocol::Sctp;
        else if (g.find("protocol")) identity_ok = false;
    }
    vs_port_known_ = port_ok;
    vs_family_known_ = family_ok;
    const std::string& name = context;

    if (auto v = g.choice("lb_algo", kSchedulers)) vs.lb_algo = *v;
    if (auto v = parse_forwarding(g)) vs.lb_kind = *v;
    if (auto v = g.integer("persistence_timeout", 0, 2678400)) vs.persistence_timeout = static_cast<uint32_t>(*v);
    const uint8_t host_len = vs.family == Family::V4 ? 32 : 128;
    vs.persistence_granularity = host_len;
    if (auto* pg = g.find("persistence_granularity")) {
        if (!vs.persistence_timeout)
            g.error(*pg, "persistence_granularity needs persistence_timeout");
        if (pg->getType() == lc::Setting::TypeString) {
            // An IPv4 netmask as keepalived and ipvsadm -M take it.
            auto m = parse_address(pg->c_str());
            uint32_t bits = m && m->is_v4() ? m->to_v4().to_uint() : 0;
            const int len = std::popcount(bits);
            if (!m || !m->is_v4() || vs.family != Family::V4 || (len < 32 && (bits << len) != 0) || len == 0)
                g.error(*pg, fmt::format("persistence_granularity \"{}\" is not a contiguous IPv4 netmask{}", pg->c_str(),
                                         vs.family == Family::V6 ? " (an IPv6 service takes a prefix length 1..128)" : ""));
            else vs.persistence_granularity = static_cast<uint8_t>(len);
        } else if (auto v = g.integer("persistence_granularity", 1, host_len)) {
            vs.persistence_granularity = static_cast<uint8_t>(*v);
        }
    }
    vs.ops = g.boolean("ops").value_or(false);
    if (vs.ops && !by_mark && !vs.fwmark && vs.protocol != Protocol::Udp)
        g.error(*g.find("ops"), "ops (one-packet scheduling) applies to UDP services only");
    if (vs.ops && vs.persistence_timeout)
        g.error(*g.find("ops"), "ops cannot be combined with persistence_timeout: every packet is scheduled on its own");
    if (!by_mark && !by_group && port_ok && vs.port == 0 && !vs.persistence_timeout)
        g.error(*g.find("port"), "port 0 (all ports) needs persistence_timeout, as in IPVS");
    vs.sh_port = g.boolean("sh-port").value_or(false);
    vs.sh_fallback = g.boolean("sh-fallback").value_or(false);
    vs.mh_port = g.boolean("mh-port").value_or(false);
    vs.mh_fallback = g.boolean("mh-fallback").value_or(false);
    for (auto [key, algo] : {std::pair{"sh-port", "sh"}, {"sh-fallback", "sh"}, {"mh-port", "mh"}, {"mh-fallback", "mh"}})
        if (g.find(key) && vs.lb_algo != algo)
            g.error(*g.find(key), fmt::format("{} applies to lb_algo \"{}\" only, not \"{}\"", key, algo, vs.lb_algo));
    if (auto v = g.seconds("delay_loop", 100ms, 86400s)) vs.delay_loop = *v;
    vs.inhibit_on_failure = g.boolean("inhibit_on_failure").value_or(false);
    vs.alpha = g.boolean("alpha").value_or(false);
    if (auto v = g.integer("quorum", 1, kU32Max)) vs.quorum = static_cast<uint32_t>(*v);
    if (auto v = g.integer("hysteresis", 0, kU32Max)) vs.hysteresis = static_cast<uint32_t>(*v);
    vs.quorum_up = g.command("quorum_up");
    vs.quorum_down = g.command("quorum_down");

    if (auto* ss = g.find("sorry_server")) {
        if (!ss->isGroup()) {
            g.wrong_type(*ss, "sorry_server", "a group { address = ...; port = ...; }");
        } else {
            Group sg(*this, *ss, name + " sorry_server", detail::keys_of("sorry_server"));
            Endpoint ep{{}, vs.port};
            auto a = sg.address("address");
            if (!a && !sg.find("address")) sg.missing("address");
            if (auto p = sg.integer("port", 1, 65535)) ep.port = static_cast<uint16_t>(*p);
            if (a) {
                ep.address = *a;
                if (family_ok && family_of(*a) != vs.family && vs.lb_kind != Forwarding::Tunnel)
                    sg.error(*sg.find("address"), fmt::format("address {} is {} but the service is {}", *a,
                                                              family_name(family_of(*a)), family_name(vs.family)));
                else if (!by_mark && vs.lb_kind != Forwarding::Nat && ep.port != vs.port && vs.port != 0)
                    sg.error(*sg.find("port"), fmt::format("port {} differs from the service's port {}, but {} cannot change "
                                                           "the destination port (only NAT can)", ep.port, vs.port, to_string(vs.lb_kind)));
                else vs.sorry_server = ep;
            }
        }
    }

    if (auto* rsl = g.find("real_servers")) {
        if (!rsl->isList()) {
            g.wrong_type(*rsl, "real_servers", "a list of groups ( { address = ...; }, ... )");
        } else {
            for (int i = 0; i < rsl->getLength(); ++i) {
                const lc::Setting& e = (*rsl)[i];
                if (!e.isGroup()) {
                    g.error(e, fmt::format("real_servers[{}] must be a group {{ ... }}, not {}", i, type_name(e.getType())));
                    continue;
                }
                if (auto rs = read_real_server(e, vs, name)) vs.real_servers.push_back(std::move(*rs));
            }
        }
    }
    // Duplicate real servers: the IPVS destination key is address and port.
    for (std::size_t i = 0; i < vs.real_servers.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (vs.real_servers[i].address == vs.real_servers[j].address && vs.real_servers[i].port == vs.real_servers[j].port) {
                error(vs.real_servers[i].where,
                      fmt::format("{}: real server {} is listed twice (first at line {})", name,
                                  format_endpoint(vs.real_servers[i].address, vs.real_servers[i].port), vs.real_servers[j].where.line));
                break;
            }
    vs_port_known_ = vs_family_known_ = true;
    vs_ports_vary_ = false;
    if (!identity_ok) return std::nullopt;
    return vs;
}

std::optional<VirtualServerGroup> Loader::read_server_group(const lc::Setting& s, std::size_t index) {
    VirtualServerGroup vg;
    vg.where = where(s);
    std::string context = fmt::format("virtual_server_groups[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString)
        context = fmt::format("virtual server group \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("virtual_server_groups"));
    const std::size_t errors_before = diagnostics_.size();
    if (auto v = g.string("name")) {
        if (v->empty()) g.error(*g.find("name"), "name is empty");
        else group_names_.insert(vg.name = *v);
    } else if (!g.find("name")) {
        g.missing("name");
    }
    if (!g.find("entries")) g.missing("entries", "(\"ADDRESS PORT\", \"FIRST-LAST PORT\" or \"fwmark N\")");
    else if (g.find("entries")->isAggregate() && g.find("entries")->getLength() == 0)
        g.error(*g.find("entries"), "entries is empty");
    std::optional<Family> family;  // of the first entry that has one
    int family_line = 0;
    std::set<std::size_t> open;
    auto member_name = [](const GroupMember& m) {
        return m.fwmark ? fmt::format("fwmark {}", m.fwmark) : format_endpoint(m.address, m.port);
    };
    for (const lc::Setting* e : g.elements("entries")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.wrong_type(*e, "an entry", "a string such as \"192.0.2.10 80\", \"192.0.2.10-20 80\" or \"fwmark 7\"");
            continue;
        }
        auto parsed = detail::parse_group_entry(e->c_str());
        if (auto* why = std::get_if<std::string>(&parsed)) {
            g.error(*e, fmt::format("entry \"{}\": {}", e->c_str(), *why));
            continue;
        }
        const auto& entry = std::get<detail::GroupEntry>(parsed);
        const Location at = where(*e);
        std::vector<GroupMember> members;
        if (entry.fwmark) members.push_back({entry.fwmark, entry.family.value_or(Family::V4), {}, 0, at});
        for (auto& a : entry.addresses) members.push_back({0, family_of(a), a, entry.port, at});
        const bool known = !entry.fwmark || entry.family;
        if (known) {
            if (family && members.front().family != *family) {
                g.error(*e, fmt::format("entry \"{}\" is {} but the group's entries are {} (line {}); one family per group",
                                        e->c_str(), family_name(members.front().family), family_name(*family), family_line));
                continue;
            }
            if (!family) family = members.front().family, family_line = at.line;
        }
        for (auto& m : members) {
            auto dup = std::find_if(vg.members.begin(), vg.members.end(), [&](const GroupMember& o) {
                return m.fwmark ? o.fwmark == m.fwmark : (!o.fwmark && o.address == m.address && o.port == m.port);
            });
            if (dup != vg.members.end()) {
                g.error(*e, fmt::format("entry \"{}\": {} is already in the group (line {})", e->c_str(), member_name(m),
                                        dup->where.line));
                break;
            }
            if (!known) open.insert(vg.members.size());
            vg.members.push_back(m);
        }
    }
    // A mark without a family takes the family of the group's addresses when it has any.
    for (auto i : open)
        if (family) vg.members[i].family = *family;
    if (!family && !open.empty()) mark_family_open_[vg.name] = open;
    if (diagnostics_.size() != errors_before || vg.name.empty()) return std::nullopt;
    return vg;
}

void Loader::expand_groups(Config& c) {
    std::vector<VirtualServer> out;
    for (auto& vs : c.virtual_servers) {
        if (vs.group.empty()) {
            out.push_back(std::move(vs));
            continue;
        }
        const auto& group = *std::find_if(c.virtual_server_groups.begin(), c.virtual_server_groups.end(),
                                          [&](auto& x) { return x.name == vs.group; });
        const auto open = mark_family_open_.find(group.name);
        for (std::size_t i = 0; i < group.members.size(); ++i) {
            const GroupMember& m = group.members[i];
            VirtualServer e = vs;
            e.fwmark = m.fwmark;
            e.address = m.fwmark ? IpAddress{} : m.address;
            e.port = m.port;
            e.family = open != mark_family_open_.end() && open->second.count(i) ? vs.family : m.family;
            if (!m.fwmark && m.port == 0 && !vs.persistence_timeout)
                error(m.where, fmt::format("virtual server group \"{}\": {} (port 0, all ports) needs persistence_timeout in "
                                           "the virtual server at line {}, as in IPVS", group.name, format_endpoint(m.address, 0),
                                           vs.where.line));
            out.push_back(std::move(e));
        }
    }
    c.virtual_servers = std::move(out);
}

void Loader::check_instances(Config& c) {
    auto& v = c.vrrp_instances;
    for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (v[i].name == v[j].name)
                error(v[i].where, fmt::format("vrrp instance \"{}\" is defined twice (first at line {})", v[i].name, v[j].where.line));
            // RFC 5798 §7.3: the VRID picks the virtual MAC, so it is unique per interface
            // and family (IPv4 and IPv6 routers use different MAC ranges).
            if (v[i].interface == v[j].interface && v[i].family == v[j].family && v[i].virtual_router_id == v[j].virtual_router_id)
                error(v[i].where, fmt::format("vrrp instance \"{}\": virtual_router_id {} on {} ({}) is already used by "
                                              "instance \"{}\" (line {})",
                                              v[i].name, v[i].virtual_router_id, v[i].interface, family_name(v[i].family),
                                              v[j].name, v[j].where.line));
            // One macvlan per instance: `use_vmac = true` names it vrrp.<VRID> for both families.
            if (!v[i].use_vmac.empty() && v[i].use_vmac == v[j].use_vmac)
                error(v[i].where, fmt::format("vrrp instance \"{}\": use_vmac interface \"{}\" is also the one of instance "
                                              "\"{}\" (line {}); give one of them its own name (use_vmac = \"vrrp6.{}\")",
                                              v[i].name, v[i].use_vmac, v[j].name, v[j].where.line,
                                              v[i].virtual_router_id));
            for (auto& a : v[i].virtual_ipaddress)
                for (auto& b : v[j].virtual_ipaddress)
                    if (a.prefix.address == b.prefix.address)
                        error(a.where, fmt::format("vrrp instance \"{}\": virtual_ipaddress {} is also floated by instance "
                                                   "\"{}\" (line {})", v[i].name, a.prefix.address, v[j].name, b.where.line));
        }
        auto& vips = v[i].virtual_ipaddress;
        for (std::size_t k = 0; k < vips.size(); ++k)
            for (std::size_t l = 0; l < k; ++l)
                if (vips[k].prefix.address == vips[l].prefix.address)
                    error(vips[k].where, fmt::format("vrrp instance \"{}\": virtual_ipaddress {} is listed twice",
                                                     v[i].name, vips[k].prefix.address));
    }
}

void Loader::check_sync_groups(Config& c) {
    std::map<std::string, const VrrpSyncGroup*> member_of;
    for (std::size_t i = 0; i < c.vrrp_sync_groups.size(); ++i) {
        auto& sg = c.vrrp_sync_groups[i];
        for (std::size_t j = 0; j < i; ++j)
            if (c.vrrp_sync_groups[j].name == sg.name)
                error(sg.where, fmt::format("vrrp sync group \"{}\" is defined twice (first at line {})", sg.name,
                                            c.vrrp_sync_groups[j].where.line));
        for (auto& name : sg.group) {
            auto it = std::find_if(c.vrrp_instances.begin(), c.vrrp_instances.end(), [&](auto& vi) { return vi.name == name; });
            if (it == c.vrrp_instances.end()) {
                if (instance_names_.count(name)) continue;  // exists, but its own errors were reported
                std::vector<std::string_view> names;
                for (auto& vi : c.vrrp_instances) names.push_back(vi.name);
                std::string msg = fmt::format("vrrp sync group \"{}\": \"{}\" is not a vrrp instance", sg.name, name);
                if (auto near = detail::nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *near);
                error(sg.where, msg);
            } else if (auto [m, inserted] = member_of.emplace(name, &sg); !inserted) {
                error(sg.where, fmt::format("vrrp sync group \"{}\": instance \"{}\" is already in sync group \"{}\" (line {})",
                                            sg.name, name, m->second->name, m->second->where.line));
            }
        }
    }
}

void Loader::check_virtual_servers(Config& c) {
    auto& v = c.virtual_servers;
    for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = 0; j < i; ++j) {
            const bool same = v[i].fwmark ? (v[i].fwmark == v[j].fwmark && v[i].family == v[j].family)
                                          : (!v[j].fwmark && v[i].address == v[j].address && v[i].port == v[j].port &&
                                             v[i].protocol == v[j].protocol);
            if (same) {
                error(v[i].where, fmt::format("virtual server {} is defined twice (first at line {})", service_name(v[i]), v[j].where.line));
                break;
            }
        }
}

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
void scan_wide_integers(std::string_view text, const std::string& name, const std::string& include_dir, int depth,
                        std::vector<Diagnostic>& out, std::set<WideAt>& lines) {
    for (auto& w : detail::find_wide_integers(text)) {
        out.push_back({name, w.line, fmt::format("integer {} does not fit in 32 bits (libconfig would read it wrongly; "
                                                 "write {}L if a 64-bit value is meant)", w.literal, w.literal)});
        lines.insert({name, w.line, w.wrapped});
    }
    if (depth >= 10) return;
    std::istringstream in{std::string(text)};
    const std::regex include(R"re(^\s*@include\s+"([^"]+)")re");
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const std::string path = resolve_include(include_dir, m[1].str());
        std::ifstream f(path, std::ios::binary);
        if (!f) continue;  // libconfig reports it
        std::ostringstream content;
        content << f.rdbuf();
        scan_wide_integers(content.str(), path, include_dir, depth + 1, out, lines);
    }
}

LoadResult load_text(std::string_view text, const std::string& name, const std::string& include_dir,
                     LoadOptions options = {}) {
    std::vector<Diagnostic> early;
    std::set<WideAt> wide_lines;
    scan_wide_integers(text, name, include_dir, 0, early, wide_lines);
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
