// keepalived 2.2.7's line pre-processing (lib/parser.c read_line() and its helpers),
// re-implemented from its documented behaviour and checked against the real binary.
// Every quirk kept here is one an operator's file may rely on; each is named where it
// is implemented.
#include "config/detail/keepalived_lexer.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace lvsd::config::keepalived::detail {

namespace {

// keepalived reads lines with fgets(buf, MAXBUF = 1024): 1022 characters, the newline
// and the terminator; a longer line is read as two.
constexpr std::size_t kMaxLine = 1022;
// After this many errors the input is not a keepalived configuration; stop.
constexpr int kMaxErrors = 100;
constexpr std::size_t kMaxWarnings = 1000;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

void trim_right_blanks(std::string& s) {
    while (!s.empty() && is_blank(s.back())) s.pop_back();
}
std::size_t skip_blanks(const std::string& s, std::size_t p) {
    while (p < s.size() && is_blank(s[p])) ++p;
    return p;
}

std::string dir_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string absolute_dir(const std::string& dir) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(dir.empty() ? "." : dir, ec);
    return ec ? dir : abs.lexically_normal().string();
}

}  // namespace

// Reads a configuration file as keepalived's check_glob_file() + fopen() accept it: a
// regular file without any execute bit. `read_problem` says why not (keepalived's
// INCLUDE_R class); `too_big` is lvsd's own limit.
std::optional<std::string> load_config_file(const std::string& path, std::size_t cap, std::string& why, bool& too_big) {
    too_big = false;
    if (!path.empty() && path.back() == '/') {
        why = "is a directory";
        return std::nullopt;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        why = fmt::format("cannot open: {}", std::strerror(errno));
        return std::nullopt;
    }
    if (S_ISDIR(st.st_mode)) {
        why = "is a directory";
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
        why = "is not a regular non-executable file";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = fmt::format("cannot open: {}", std::strerror(errno));
        return std::nullopt;
    }
    std::string data;
    data.resize(cap + 1);
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    if (in.bad()) {
        why = "cannot read";
        return std::nullopt;
    }
    data.resize(static_cast<std::size_t>(in.gcount()));
    if (data.size() > cap) {
        too_big = true;
        why = fmt::format("is larger than {} bytes", cap);
        return std::nullopt;
    }
    return data;
}


Lexer::Lexer(const ReadOptions& options, ReadResult& result, Sink sink)
    : options_(options), result_(result), sink_(std::move(sink)), pending_(std::make_unique<Pending>()) {
    host_name_ = options.host_name;
    if (host_name_.empty()) {
        char buf[HOST_NAME_MAX + 1] = {};
        // keepalived's default config_id: the node name up to its first '.' (main.c).
        if (::gethostname(buf, sizeof buf - 1) == 0) host_name_ = std::string(buf).substr(0, std::strcspn(buf, "."));
    }
    // keepalived's standard definitions (set_std_definitions).
    defs_["_PWD"].fn = Def::Fn::Pwd;
    defs_["_INSTANCE"].fn = Def::Fn::Instance;
    defs_["_RANDOM"].fn = Def::Fn::Random;
    defs_["_HASH"].value = "#";
    defs_["_BANG"].value = "!";
}

Lexer::~Lexer() = default;

void Lexer::error(const std::string& file, int line, std::string message) {
    if (stopped_) return;
    result_.errors.push_back({file, line, std::move(message)});
    if (++errors_ >= kMaxErrors) {
        result_.errors.push_back({file, line, fmt::format("{} errors: stopped reading", errors_)});
        stopped_ = true;
    }
}

void Lexer::warning(const std::string& file, int line, std::string message) {
    if (stopped_ || result_.warnings.size() > kMaxWarnings) return;
    if (result_.warnings.size() == kMaxWarnings) message = fmt::format("more than {} warnings: not shown", kMaxWarnings);
    result_.warnings.push_back({file, line, std::move(message)});
}

void Lexer::emit(LexEvent::Kind kind, std::string text, std::optional<std::string> trailing) {
    sink_(LexEvent{kind, std::move(text), file_, line_, std::move(trailing)});
}

bool Lexer::charge(std::size_t bytes) {
    total_bytes_ += bytes;
    if (total_bytes_ <= options_.max_total_bytes) return true;
    error(file_, line_,
          fmt::format("more than {} bytes of configuration (files, and the lines definitions and ~SEQ expand to, "
                      "together): stopped reading",
                      options_.max_total_bytes));
    stop();
    return false;
}

bool Lexer::push_source(const std::string& path, std::string data, int depth) {
    if (!charge(data.size())) return false;
    auto s = std::make_unique<Source>();
    s->path = path;
    s->dir = dir_of(path);
    s->data = std::move(data);
    s->depth = depth;
    s->saved_check = include_check_;
    sources_.push_back(std::move(s));
    return true;
}

void Lexer::run_file(const std::string& path) {
    std::string why;
    bool too_big = false;
    auto data = load_config_file(path, options_.max_file_bytes, why, too_big);
    if (!data) {
        error(path, 0, why);
        return;
    }
    file_ = path;
    if (push_source(path, std::move(*data), 0)) run();
}

void Lexer::run_text(std::string_view text, const std::string& name, const std::string& base_dir) {
    file_ = name;
    if (text.size() > options_.max_file_bytes) {
        error(name, 0, fmt::format("is larger than {} bytes", options_.max_file_bytes));
        return;
    }
    if (!push_source(name, std::string(text), 0)) return;
    sources_.back()->dir = base_dir.empty() ? "." : base_dir;
    run();
}

// One line as keepalived's fgets(buf, 1024) reads it: a line of more than 1022
// characters comes in pieces of 1023, each a line of its own to keepalived, and so here
// (an error: the pieces rarely mean what was written). This also bounds the work per
// line against hostile input.
bool Lexer::read_physical(std::string& out) {
    while (!sources_.empty()) {
        Source& s = *sources_.back();
        if (s.pos >= s.data.size()) {
            include_check_ = s.saved_check;  // keepalived end_file()
            sources_.pop_back();
            continue;
        }
        const auto nl = s.data.find('\n', s.pos);
        const auto end = nl == std::string::npos ? s.data.size() : nl;
        file_ = s.path;
        if (!s.continuing) {
            line_ = ++s.line_no;
            if (end - s.pos > kMaxLine)
                error(file_, line_,
                      fmt::format("line of {} characters: keepalived 2.2.7 reads it in pieces of {} characters, "
                                  "each a line of its own (read so here)",
                                  end - s.pos, kMaxLine + 1));
        }
        if (end - s.pos > kMaxLine) {
            out.assign(s.data, s.pos, kMaxLine + 1);
            s.pos += kMaxLine + 1;
            s.continuing = true;
        } else {
            out.assign(s.data, s.pos, end - s.pos);
            s.pos = nl == std::string::npos ? s.data.size() : nl + 1;
            s.continuing = false;
        }
        if (const auto z = out.find('\0'); z != std::string::npos) {
            error(file_, line_, "NUL byte: keepalived ignores the rest of the line");
            out.resize(z);
        }
        while (!out.empty() && (out.back() == '\r' || out.back() == '\n')) out.pop_back();
        return true;
    }
    return false;
}

// keepalived decomment(): drops leading blanks, the comment (`!` or `#` outside "..."),
// the `\` of `\#` and `\!`, and trailing blanks. A `\` at the very end survives (after
// the trailing blanks are gone) even when it ended a comment: keepalived's quirk, which
// continues a multi-line definition. Returns the comment's text.
std::optional<std::string> Lexer::decomment(std::string& s, bool report_quote) {
    const auto lead = s.find_first_not_of(" \t");
    if (lead == std::string::npos) {
        s.clear();
        return std::nullopt;
    }
    s.erase(0, lead);
    bool quote = false, cont = false;
    std::size_t skip = std::string::npos, cut = std::string::npos;
    for (std::size_t i = 0; (i = s.find_first_of("!#\"\\", i)) != std::string::npos;) {
        const char c = s[i];
        if (c == '"') {
            if (skip == std::string::npos) quote = !quote;
            ++i;
        } else if (c == '\\') {
            if (i + 1 == s.size()) {
                cut = i;
                cont = true;
                break;
            }
            if (!quote && (s[i + 1] == '#' || s[i + 1] == '!')) {
                s.erase(i, 1);
                ++i;
            } else {
                i += 2;
            }
        } else {
            if (!quote && skip == std::string::npos) skip = i;
            ++i;
        }
    }
    if (quote && report_quote) error(file_, line_, "unterminated quote");
    std::optional<std::string> comment;
    if (skip != std::string::npos) {
        const auto end = cut != std::string::npos ? cut : s.size();
        std::string text = s.substr(skip + 1, end - skip - 1);
        if (!text.empty() && text.front() == ' ') text.erase(0, 1);
        while (!text.empty() && is_space(text.back())) text.pop_back();
        comment = std::move(text);
        s.resize(skip);
    } else if (cut != std::string::npos) {
        s.resize(cut);
    }
    trim_right_blanks(s);
    if (cont) s += '\\';
    return comment;
}

// keepalived check_definition(): `$NAME=value`, NAME of letters, digits and `_` (not
// starting with a digit), no blank before the `=`. A value ending in `\` starts a
// multi-line definition.
bool Lexer::check_definition(const std::string& buf) {
    if (buf.size() < 2 || buf[0] != '$' || !(is_alpha(buf[1]) || buf[1] == '_')) return false;
    std::size_t p = 2;
    for (; p < buf.size() && buf[p] != '='; ++p)
        if (!is_alnum(buf[p]) && buf[p] != '_') return false;
    if (p == buf.size()) return false;
    std::string value = buf.substr(skip_blanks(buf, p + 1));
    bool multiline = false;
    if (!value.empty() && value.back() == '\\') {
        value.pop_back();
        trim_right_blanks(value);
        if (!value.empty()) value += '\n';
        multiline = true;
    }
    Def& def = defs_[buf.substr(1, p - 1)];
    def = Def{std::move(value), multiline, Def::Fn::None};
    if (multiline) pending_->defining = buf.substr(1, p - 1);
    return true;
}

std::optional<std::string> Lexer::def_value(Def& def, std::string_view params) {
    switch (def.fn) {
        case Def::Fn::None: return def.value;
        case Def::Fn::Pwd: return absolute_dir(sources_.empty() ? "." : sources_.back()->dir);
        case Def::Fn::Instance: return host_name_;
        case Def::Fn::Random: {
            // keepalived draws a new number at every read; a translation must not.
            unsigned long lo = 0;
            std::string p(params);
            char* end = nullptr;
            if (!p.empty()) lo = std::strtoul(p.c_str(), &end, 10);
            warning(file_, line_,
                    fmt::format("$_RANDOM is a different number at every keepalived start; read as {}", lo));
            return std::to_string(lo);
        }
    }
    return std::nullopt;
}

// keepalived replace_param(): every `$NAME` (followed by a blank, `,`, `)` or the end)
// and `${NAME}` of a known definition is replaced, and the replaced text is scanned
// again (so a definition may use another, and one that uses itself never ends in
// keepalived: here it is an error after max_expansions_per_line). A multi-line
// definition is replaced only at the end of a line: its first line goes here, the rest
// follow as lines of their own. A value starting with `~` ends the scan.
bool Lexer::replace_params(std::string& buf, int& expansions, bool& failed) {
    auto& pd = *pending_;
    bool found = false;
    for (std::size_t pos = 0; (pos = buf.find('$', pos)) != std::string::npos && pos + 1 < buf.size();) {
        std::size_t i = pos + 1;
        const bool braces = buf[i] == '{';
        if (braces) ++i;
        if (i >= buf.size() || !(is_alpha(buf[i]) || buf[i] == '_')) {
            ++pos;
            continue;
        }
        std::size_t n = i + 1;
        while (n < buf.size() && (is_alnum(buf[n]) || buf[n] == '_')) ++n;
        const std::size_t name_end = n;
        std::size_t pstart = std::string::npos, pend = 0, ref_end = 0;
        if (braces) {
            for (; n < buf.size() && (buf[n] == ' ' || is_digit(buf[n])); ++n) {
                if (buf[n] == ' ') continue;
                if (pstart == std::string::npos) pstart = n;
                pend = n;
            }
            const bool ends_in_blank = pstart != std::string::npos && pend + 1 != n;
            if (ends_in_blank || n >= buf.size() || buf[n] != '}') {
                ++pos;
                continue;
            }
            ref_end = n + 1;
        } else {
            if (n < buf.size() && !std::strchr(" \t,)", buf[n])) {
                ++pos;
                continue;
            }
            ref_end = n;
        }
        const auto it = defs_.find(std::string_view(buf).substr(i, name_end - i));
        if (it == defs_.end() || (it->second.multiline && ref_end != buf.size()) ||
            (pstart != std::string::npos && it->second.fn != Def::Fn::Random)) {
            ++pos;
            continue;
        }
        if (++expansions > options_.max_expansions_per_line) {
            error(file_, line_,
                  fmt::format("more than {} definition expansions in one line (a definition that uses itself "
                              "never ends in keepalived)",
                              options_.max_expansions_per_line));
            failed = true;
            return false;
        }
        found = true;
        const std::string name = it->first;
        auto value = def_value(it->second,
                               pstart == std::string::npos ? std::string_view{}
                                                           : std::string_view(buf).substr(pstart, pend + 1 - pstart));
        std::string first = *value;
        const auto nl = value->find('\n');
        if (it->second.multiline && nl != std::string::npos) {
            first = value->substr(0, nl);
            if (pd.ml_rest) pd.ml_stack.push_back({std::move(*pd.ml_rest), pd.ml_seq_depth});
            pd.ml_seq_depth = seqs_.size();
            pd.ml_rest = value->substr(nl + 1);
        }
        if (buf.size() - (ref_end - pos) + first.size() > kMaxLine + 1) {
            error(file_, line_,
                  fmt::format("expanding ${} makes the line longer than {} characters: keepalived 2.2.7 stops "
                              "expanding there",
                              name, kMaxLine + 1));
            failed = true;
            return false;
        }
        buf.replace(pos, ref_end - pos, first);
        const auto v = value->find_first_not_of(" \t");
        if (v != std::string::npos && (*value)[v] == '~') break;
    }
    return found;
}

}  // namespace lvsd::config::keepalived::detail
