// The importer's output (libconfig text) and its diagnostics.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "config/detail/keepalived_translate.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::keepalived::detail {

Out Out::group(std::string key) { return Out{Kind::Group, std::move(key), {}, {}, {}, {}, 0}; }
Out Out::list(std::string key) { return Out{Kind::List, std::move(key), {}, {}, {}, {}, 0}; }
Out Out::array(std::string key) { return Out{Kind::Array, std::move(key), {}, {}, {}, {}, 0}; }
Out Out::string(std::string key, std::string_view value) { return Out{Kind::Scalar, std::move(key), quote(value), {}, {}, {}, 0}; }
Out Out::literal(std::string key, std::string literal) { return Out{Kind::Scalar, std::move(key), std::move(literal), {}, {}, {}, 0}; }
Out Out::comment(std::string text) { return Out{Kind::Comment, {}, {}, {}, {std::move(text)}, {}, 0}; }

Out& Out::add(Out item) {
    items.push_back(std::move(item));
    return items.back();
}

const Out* Out::find(std::string_view k) const {
    for (const auto& o : items)
        if (o.kind != Kind::Comment && o.key == k) return &o;
    return nullptr;
}

Out* Out::find(std::string_view k) { return const_cast<Out*>(std::as_const(*this).find(k)); }

std::string unquoted(std::string_view literal) {
    if (literal.size() >= 2 && literal.front() == '"') literal = literal.substr(1, literal.size() - 2);
    return std::string(literal);
}

std::string entry_name(const Out& entry) {
    if (entry.kind == Out::Kind::Scalar) return unquoted(entry.scalar);
    for (const auto& o : entry.items)
        if (o.key == "name" || o.key == "interface") return unquoted(o.scalar);
    return {};
}

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(ch) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(ch));
            else out += ch;
        }
    }
    return out + "\"";
}

namespace {

struct Writer {
    std::string out;
    std::vector<std::pair<std::string, int>> sources;  // per finished line
    std::pair<std::string, int> current;

    void newline() {
        out += '\n';
        sources.push_back(current);
    }
};

void write_comments(Writer& w, const std::vector<std::string>& comments, int indent) {
    for (const auto& c : comments) {
        w.out.append(indent, ' ');
        w.out += c.empty() ? "#" : "# " + c;
        w.newline();
    }
}

// Arrays and short scalar lists stay on one line: `[ "a", "b" ]`.
void write_value(Writer& w, const Out& o, int indent);

void write_items(Writer& w, const std::vector<Out>& items, int indent, bool in_list) {
    std::size_t remaining = std::count_if(items.begin(), items.end(), [](const Out& o) { return o.kind != Out::Kind::Comment; });
    const auto parent = w.current;
    for (const auto& o : items) {
        if (o.src_line > 0) w.current = {o.src_file, o.src_line};
        if (o.kind == Out::Kind::Comment) {
            write_comments(w, o.comments, indent);
            w.current = parent;
            continue;
        }
        write_comments(w, o.comments, indent);
        w.out.append(indent, ' ');
        if (!in_list) w.out += o.key + " = ";
        write_value(w, o, indent);
        if (o.src_line > 0) w.current = {o.src_file, o.src_line};
        --remaining;
        w.out += in_list ? (remaining ? "," : "") : ";";
        w.newline();
        w.current = parent;
    }
}

void write_value(Writer& w, const Out& o, int indent) {
    switch (o.kind) {
    case Out::Kind::Scalar: w.out += o.scalar; break;
    case Out::Kind::Array: {
        w.out += "[ ";
        for (std::size_t i = 0; i < o.items.size(); ++i) w.out += (i ? ", " : "") + o.items[i].scalar;
        w.out += o.items.empty() ? "]" : " ]";
        break;
    }
    case Out::Kind::Group:
    case Out::Kind::List: {
        const bool group = o.kind == Out::Kind::Group;
        w.out += group ? "{" : "(";
        w.newline();
        write_items(w, o.items, indent + 4, !group);
        w.out.append(indent, ' ');
        w.out += group ? "}" : ")";
        break;
    }
    case Out::Kind::Comment: break;
    }
}

}  // namespace

Written write_config(const std::vector<Out>& top, const std::vector<std::string>& header) {
    Writer w;
    write_comments(w, header, 0);
    for (const auto& o : top) {
        w.newline();
        std::vector<Out> one{o};
        write_items(w, one, 0, false);
    }
    return {std::move(w.out), std::move(w.sources)};
}

std::string line_of(const Statement& s) {
    std::string out = s.keyword;
    for (const auto& a : s.args) out += ' ' + (a.find_first_of(" \t#!") == std::string::npos && !a.empty() ? a : quote(a));
    if (s.has_block) out += " { ... }";
    return out;
}

Out with_comments(Out out, const Statement& s) {
    out.comments.insert(out.comments.end(), s.comments.begin(), s.comments.end());
    out.src_file = s.file;
    out.src_line = s.line;
    return out;
}

void Ctx::error(const Statement& s, std::string message) { result.errors.push_back({s.file, s.line, std::move(message)}); }
void Ctx::warn(const Statement& s, std::string message) { result.warnings.push_back({s.file, s.line, std::move(message)}); }

void Ctx::left_out(Out& into, const Statement& s, std::string_view why) {
    warn(s, fmt::format("not translated: {} ({})", line_of(s), why));
    into.add(Out::comment(fmt::format("not translated ({}:{}): {} -- {}", s.file, s.line, line_of(s), why)));
}

void Ctx::unexpected(const Statement& s, std::string_view context, std::span<const std::string_view> known,
                     std::span<const std::string_view> lacking) {
    if (std::find(lacking.begin(), lacking.end(), s.keyword) != lacking.end()) {
        error(s, fmt::format("'{}' in {}: lvsd has no equivalent, and leaving it out would change what the service does",
                             s.keyword, context));
        return;
    }
    // Not a keyword of this block, as far as the importer knows keepalived: keepalived logs
    // "Unknown keyword" and goes on without it, which is rarely what was meant.
    // The loader's rule for near misses (detail::nearest), so that both hint alike.
    std::string hint = config::detail::nearest(s.keyword, known).value_or("");
    if (hint.empty() && !keepalived_knows(s.keyword))
        hint = config::detail::nearest(s.keyword, keepalived_keywords()).value_or("");
    std::string where_else;
    if (keepalived_knows(s.keyword)) where_else = " (keepalived reads it in another block, not here)";
    error(s, fmt::format("unknown keyword '{}' in {}: keepalived ignores it{}{}", s.keyword, context, where_else,
                         hint.empty() || hint == s.keyword ? "" : fmt::format("; did you mean '{}'?", hint)));
}

std::string command_text(const Statement& s) {
    if (s.args.size() == 1) return s.args[0];
    std::string out;
    for (const auto& a : s.args) {
        if (!out.empty()) out += ' ';
        // Fewer characters need quotes here than in quoted_command: user and process
        // names are read back as written, not split as a command.
        const bool plain = !a.empty() && a.find_first_of(" \t'\"\\") == std::string::npos;
        out += plain ? a : single_quoted(a);
    }
    return out;
}

std::optional<std::string> Ctx::rest_of_line(const Statement& s) {
    if (s.args.empty()) {
        error(s, fmt::format("'{}' needs a value", s.keyword));
        return std::nullopt;
    }
    return command_text(s);
}

std::optional<std::string> Ctx::command(const Statement& s, std::size_t owner_words) {
    auto parsed = command_words(s.text);
    if (auto* why = std::get_if<std::string>(&parsed)) {
        error(s, fmt::format("'{}': {}", s.keyword, *why));
        return std::nullopt;
    }
    auto& words = std::get<CommandWords>(parsed);
    const std::string argv = quoted_command(words.argv);
    if (owner_words == 0 && !words.extra.empty()) {
        error(s, fmt::format("'{}': keepalived runs only {} and ignores {}; to pass arguments, quote the whole "
                             "command: {} \"{}\"",
                             s.keyword, argv, quoted_command(words.extra), s.keyword,
                             quoted_command(words.argv) + " " + quoted_command(words.extra)));
        return std::nullopt;
    }
    if (words.extra.size() > owner_words) {
        error(s, fmt::format("'{}': {} after the command: keepalived takes at most a user and a group there",
                             s.keyword, quoted_command(words.extra)));
        return std::nullopt;
    }
    for (const auto& owner : words.extra) {
        if (owner != "root" && owner != "0") {
            error(s, fmt::format("'{}': keepalived runs it as '{}'; lvsd runs notify commands as root", s.keyword,
                                 quoted_command(words.extra)));
            return std::nullopt;
        }
    }
    return argv;
}

std::optional<std::string> Ctx::word(const Statement& s, std::size_t arg) {
    if (arg < s.args.size()) return s.args[arg];
    error(s, fmt::format("'{}' needs a value", s.keyword));
    return std::nullopt;
}

std::optional<long> Ctx::integer(const Statement& s, long min, long max, std::size_t arg) {
    auto w = word(s, arg);
    if (!w) return std::nullopt;
    long v = 0;
    auto [ptr, ec] = std::from_chars(w->data(), w->data() + w->size(), v);
    if (ec != std::errc{} || ptr != w->data() + w->size()) {
        error(s, fmt::format("'{}': '{}' is not a whole number", s.keyword, *w));
        return std::nullopt;
    }
    if (v < min || v > max) {
        error(s, fmt::format("'{}': {} is outside {}..{}", s.keyword, v, min, max));
        return std::nullopt;
    }
    return v;
}

std::optional<std::string> Ctx::seconds(const Statement& s, double min, double max, std::size_t arg) {
    auto w = word(s, arg);
    if (!w) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(w->c_str(), &end);
    if (w->empty() || *end || errno || !std::isfinite(v)) {
        error(s, fmt::format("'{}': '{}' is not a number of seconds", s.keyword, *w));
        return std::nullopt;
    }
    if (v < min || v > max) {
        error(s, fmt::format("'{}': {} is outside {}..{} seconds", s.keyword, *w, min, max));
        return std::nullopt;
    }
    const long ms = std::lround(v * 1000);
    if (ms % 1000 == 0) return fmt::format("{}", ms / 1000);
    std::string text = fmt::format("{:.3f}", ms / 1000.0);
    while (text.back() == '0') text.pop_back();
    return text;
}

std::optional<bool> Ctx::flag(const Statement& s) {
    if (s.args.empty()) return true;
    const std::string& w = s.args[0];
    if (w == "on" || w == "true" || w == "yes") return true;
    if (w == "off" || w == "false" || w == "no") return false;
    error(s, fmt::format("'{}': '{}' is not on/off/true/false/yes/no", s.keyword, w));
    return std::nullopt;
}

}  // namespace lvsd::config::keepalived::detail
