// keepalived 2.2.7's read_line() loop (lib/parser.c): where each line comes from (the
// rest of a line after a brace, a ~SEQ, a multi-line definition, or the file), the
// order of the pre-processing steps, includes, and the split at braces. The steps
// themselves are in keepalived_lexer.cpp.
#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config/detail/keepalived_lexer.hpp"

namespace lvsd::config::keepalived::detail {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::size_t skip_blanks(const std::string& s, std::size_t p) {
    while (p < s.size() && is_blank(s[p])) ++p;
    return p;
}

void trim_right_blanks(std::string& s) {
    while (!s.empty() && is_blank(s.back())) s.pop_back();
}

bool has_unescaped(const std::string& s, const char* chars) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\') ++i;
        else if (std::strchr(chars, s[i])) return true;
    }
    return false;
}

}  // namespace

void Lexer::run() {
    auto& pd = *pending_;
    while (!stopped_) {
        std::string buf;
        std::optional<std::string> trailing;
        if (pd.residue) {
            buf = std::move(*pd.residue);
            pd.residue.reset();
        } else if (!seqs_.empty() && seqs_.size() > pd.ml_seq_depth) {
            // The innermost generator first: a ~SEQ inside a ~SEQ's text nests.
            if (!next_generated(buf)) return;
        } else if (pd.ml_rest) {
            std::string& rest = *pd.ml_rest;
            const auto nl = rest.find('\n');
            if (nl == std::string::npos) {
                buf = std::move(rest);
                pd.ml_rest.reset();
                pd.ml_seq_depth = 0;
                if (!pd.ml_stack.empty()) {
                    pd.ml_rest = std::move(pd.ml_stack.back().rest);
                    pd.ml_seq_depth = pd.ml_stack.back().seq_depth;
                    pd.ml_stack.pop_back();
                }
            } else {
                buf = rest.substr(0, nl);
                rest.erase(0, nl + 1);
            }
            if (!charge(buf.size() + 1)) return;
        } else {
            if (!read_physical(buf)) break;
            // keepalived 2.2.7 reads the file twice: the parent decomments each line
            // into a consolidated copy, and the VRRP and checker processes, which do the
            // work, read that copy and decomment it again. Their reading is the one
            // that counts, so: a line that is empty after the first pass (a comment, or
            // only blanks) is an empty line to them and ends a multi-line definition, as
            // does an include line (an empty line in the copy); `\#` and `\!` are
            // literal only to the parent. Checked with the binary.
            trailing = decomment(buf, true);
            if (buf.empty() || (is_include(buf) && !pd.defining.empty())) {
                if (!pd.defining.empty()) {
                    Def& d = defs_[pd.defining];
                    if (d.value.empty()) d.multiline = false;
                    pd.defining.clear();
                }
                if (buf.empty()) {
                    if (trailing) emit(LexEvent::Kind::Comment, std::move(*trailing));
                    else emit(LexEvent::Kind::Blank, {});
                    continue;
                }
            }
            if (buf[0] == '#' || buf[0] == '!') {
                error(file_, line_,
                      fmt::format("a line starting with \\{}: keepalived's VRRP and checker processes take it for "
                                  "a file marker of their copy of the configuration and drop it",
                                  buf[0]));
                continue;
            }
            if (auto again = decomment(buf, false)) {
                warning(file_, line_,
                        fmt::format("keepalived's VRRP and checker processes read '{}' as a comment: \\# and \\! "
                                    "escape a comment only in its parent process; read as they read it",
                                    *again));
                if (buf.empty()) continue;
            }
        }
        if (buf.empty()) continue;

        if (!pd.defining.empty()) {
            // The next line of a multi-line definition: a trailing `\` continues it; the
            // first line without one is its last.
            Def& d = defs_[pd.defining];
            const bool more = buf.back() == '\\';
            if (more) {
                buf.pop_back();
                trim_right_blanks(buf);
                buf += '\n';
            } else {
                pd.defining.clear();
            }
            if (buf.size() >= 2 || !more) d.value += buf;
            if (!more && d.value.empty()) d.multiline = false;
            if (trailing) emit(LexEvent::Kind::Break, {}, std::move(trailing));
            continue;
        }

        int expansions = 0;
        bool drop = false;
        for (;;) {
            if (buf[0] == '@') {
                // @NAME rest / @^NAME rest: kept when NAME is (is not) the host name.
                const bool reverse = buf.size() > 1 && buf[1] == '^';
                const std::size_t ofs = reverse ? 2 : 1;
                const auto blank = buf.find_first_of(" \t", ofs);
                if (blank == std::string::npos) {
                    drop = true;
                    break;
                }
                const bool match = std::string_view(buf).substr(ofs, blank - ofs) == host_name_;
                if (match == reverse) {
                    drop = true;
                    break;
                }
                buf.erase(0, skip_blanks(buf, blank));
                if (buf.empty()) {
                    drop = true;
                    break;
                }
            }
            if (buf[0] == '$' && check_definition(buf)) {
                emit(LexEvent::Kind::Break, {}, std::move(trailing));
                drop = true;
                break;
            }
            if (buf.compare(0, 4, "~SEQ") == 0 || buf.compare(0, 4, "~LST") == 0) {
                if (buf[1] == 'L' ? !add_lst(buf) : !add_seq(buf))
                    error(file_, line_,
                          fmt::format("invalid {} '{}': expected ~SEQ(VAR, [START,] [STEP,] END) TEXT, or "
                                      "~LST(VAR, VALUE, ...) TEXT or ~LST({{VAR, ...}}, {{VALUE, ...}}, ...) TEXT",
                                      buf.substr(0, 4), buf));
                emit(LexEvent::Kind::Break, {}, std::move(trailing));
                drop = true;
                break;
            }
            if (buf[0] == '~' || buf.find('$') == std::string::npos) break;
            bool failed = false;
            if (!replace_params(buf, expansions, failed)) {
                drop = failed;
                break;
            }
            decomment(buf, false);
            if (buf.empty()) {
                drop = true;
                break;
            }
            if (buf[0] != '@' && buf.find('$') == std::string::npos) break;
        }
        if (drop || buf.empty()) continue;
        if (is_include(buf)) {
            do_include(buf, std::move(trailing));
            continue;
        }
        std::string piece = split_braces(buf);
        emit(LexEvent::Kind::Code, std::move(piece), std::move(trailing));
    }
}

// The first `{` or `}` outside "..." ends the piece; a brace at the start is a piece of
// its own. The rest comes back through run() as the next line.
std::string Lexer::split_braces(std::string& buf) {
    std::size_t p = std::string::npos;
    if (buf[0] == '{' || buf[0] == '}') {
        p = 0;
    } else {
        for (std::size_t i = 0; (i = buf.find_first_of("{}\"", i)) != std::string::npos;) {
            if (buf[i] != '"') {
                p = i;
                break;
            }
            const auto close = buf.find('"', i + 1);
            if (close == std::string::npos) break;  // an unterminated quote hides any brace
            i = close + 1;
        }
    }
    if (p != std::string::npos) {
        const std::size_t cut = p == 0 ? skip_blanks(buf, 1) : p;
        if (cut < buf.size()) {
            std::string rest = buf.substr(cut);
            trim_right_blanks(rest);
            pending_->residue = std::move(rest);
            buf.resize(cut);
        }
    }
    trim_right_blanks(buf);
    return std::move(buf);
}

// keepalived check_include(): the rest of the line after `include` is one glob pattern,
// quotes and blanks included; relative to the including file's directory; matches read
// in sorted order. Which problems are errors depends on the include variant and on
// include_check; keepalived logs the others, so they are warnings here.
void Lexer::do_include(const std::string& buf, std::optional<std::string> trailing) {
    emit(LexEvent::Kind::Break, {}, std::move(trailing));
    const std::string file = file_;
    const int line = line_;
    unsigned type = 0;
    std::size_t p = 8;
    if (!is_space(buf[7])) {
        p = 9;
        switch (buf[7]) {
            case 'r': type = kIncludeRead; break;
            case 'a': type = kIncludeRead | kIncludeMatch | kIncludeBrace | kIncludeWildcard; break;
            case 'w': type = kIncludeRead | kIncludeMatch | kIncludeWildcard; break;
            case 'm': type = kIncludeRead | kIncludeMatch; break;
            default: type = kIncludeRead | kIncludeBrace; break;
        }
    }
    const std::string pattern = buf.substr(skip_blanks(buf, p));
    const unsigned flags = include_check_ | type;
    auto report = [&](unsigned kind, const std::string& what) {
        if (flags & kind) error(file, line, what);
        else warning(file, line, what);
    };
    const int depth = sources_.empty() ? 1 : sources_.back()->depth + 1;
    if (depth > options_.max_include_depth) {
        error(file, line,
              fmt::format("include {}: includes nested more than {} deep (does a file include itself?): stopped "
                          "reading",
                          pattern, options_.max_include_depth));
        stop();
        return;
    }
    const std::string dir = sources_.empty() ? "." : sources_.back()->dir;
    const std::string full = pattern.empty() || pattern[0] == '/' ? pattern : dir + "/" + pattern;
    glob_t g{};
    const int rc = ::glob(full.c_str(), GLOB_MARK | GLOB_BRACE, nullptr, &g);
    std::vector<std::string> paths;
    if (rc == 0)
        for (std::size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    if (rc == GLOB_NOMATCH) {
        // keepalived says nothing about a wildcard matching nothing unless asked
        // (includew, includea, include_check wildcard_match); a warning here anyway.
        if (has_unescaped(pattern, "*?["))
            report(kIncludeWildcard, fmt::format("include {}: no file matches", pattern));
        else
            report(has_unescaped(pattern, "{") ? kIncludeBrace : kIncludeMatch,
                   fmt::format("include {}: no such file ({})", pattern, full));
        return;
    }
    if (rc != 0) {
        report(kIncludeRead, fmt::format("include {}: cannot read the directory", pattern));
        return;
    }
    std::vector<std::pair<std::string, std::string>> loaded;
    for (const auto& path : paths) {
        std::string why;
        bool too_big = false;
        auto data = load_config_file(path, options_.max_file_bytes, why, too_big);
        // A file that cannot be read is an error (keepalived logs it and reads on
        // without it); a directory or an executable file is skipped as keepalived does.
        if (data) loaded.emplace_back(path, std::move(*data));
        else if (too_big || why.rfind("cannot", 0) == 0)
            error(file, line, fmt::format("include {}: {} {}", pattern, path, why));
        else report(kIncludeRead, fmt::format("include {}: {} {}; keepalived skips it", pattern, path, why));
    }
    // A stack: the first match on top, read first.
    for (auto it = loaded.rbegin(); it != loaded.rend(); ++it)
        if (!push_source(it->first, std::move(it->second), depth)) return;
}

std::vector<std::string> split_words(std::string_view text) {
    static constexpr std::string_view kWhite = " \t\f\n\r\v";
    std::vector<std::string> words;
    std::size_t p = 0;
    for (;;) {
        p = text.find_first_not_of(kWhite, p);
        if (p == std::string_view::npos) break;
        if (text[p] == '"') {
            const auto close = text.find('"', p + 1);
            if (close == std::string_view::npos) break;
            words.emplace_back(text.substr(p + 1, close - p - 1));
            p = close + 1;
        } else {
            const auto end = std::min(text.find_first_of("\" \t\f\n\r\v", p), text.size());
            words.emplace_back(text.substr(p, end - p));
            p = end;
        }
    }
    return words;
}

bool Lexer::is_include(const std::string& buf) const {
    if (buf.size() < 8 || buf.compare(0, 7, "include") != 0) return false;
    if (is_space(buf[7])) return true;
    return buf.size() > 8 && is_space(buf[8]) && std::strchr("rmwba", buf[7]) != nullptr;
}

void Lexer::set_include_check(const std::vector<std::string>& args, const std::string& file, int line) {
    if (args.empty()) {
        include_check_ = kIncludeRead | kIncludeMatch | kIncludeWildcard | kIncludeBrace;
        return;
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view word = args[i];
        int mode = 0;  // -1 remove, +1 add, 0 set
        if (!word.empty() && (word[0] == '-' || word[0] == '+')) {
            mode = word[0] == '-' ? -1 : 1;
            word.remove_prefix(1);
        } else if (i == 0) {
            include_check_ = 0;
        } else {
            error(file, line, fmt::format("include_check: a second type '{}' without + or -; keepalived ignores it", word));
            continue;
        }
        unsigned flag = word == "read"             ? kIncludeRead
                        : word == "match"          ? kIncludeMatch
                        : word == "wildcard_match" ? kIncludeWildcard
                        : word == "brace_match"    ? kIncludeBrace
                                                   : 0;
        if (!flag) {
            error(file, line, fmt::format("include_check: unknown type '{}' (read, match, wildcard_match, brace_match)", word));
            continue;
        }
        if (mode == 0) include_check_ = kIncludeRead | flag;
        else if (mode > 0) include_check_ |= flag;
        else include_check_ &= ~flag;
    }
}

}  // namespace lvsd::config::keepalived::detail
