// vrrp_scripts, vrrp_track_files and vrrp_track_processes: what VRRP instances track.
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

using namespace std::chrono_literals;

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

}  // namespace lvsd::config::detail
