// keepalived 2.2.7's line generators (lib/parser.c add_seq(), add_lst()): a line
// starting with ~SEQ or ~LST stands for its TEXT read once per value, with definitions
// set to the values. Generated lines are charged against max_total_bytes, so a
// sequence of a billion values stops with an error.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config/detail/keepalived_lexer.hpp"

namespace lvsd::config::keepalived::detail {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::size_t skip_blanks(const std::string& s, std::size_t p) {
    while (p < s.size() && is_blank(s[p])) ++p;
    return p;
}

// The end of a ~LST word: the first of `stops`, or the end.
std::size_t word_end(const std::string& s, std::size_t p, const char* stops) {
    while (p < s.size() && !std::strchr(stops, s[p])) ++p;
    return p;
}

}  // namespace

// keepalived add_seq(): `~SEQ(VAR, END)`, `~SEQ(VAR, START, END)` or
// `~SEQ(VAR, START, STEP, END)` then TEXT: TEXT is read once for each value, with $VAR
// defined as the value; `~SEQx` writes the values in hex. Numbers as strtol(base 0).
bool Lexer::add_seq(const std::string& buf) {
    std::size_t p = 4;
    const bool hex = buf.size() > 4 && buf[4] == 'x';
    if (hex) ++p;
    p = skip_blanks(buf, p);
    if (p >= buf.size() || buf[p++] != '(') return false;
    p = skip_blanks(buf, p);
    const std::size_t var = p;
    p = std::min(buf.find_first_of(" \t,)", p), buf.size());
    const std::size_t var_end = p;
    p = skip_blanks(buf, p);
    if (p >= buf.size() || buf[p] == ')' || var_end == var) return false;
    p = skip_blanks(buf, p + 1);
    const auto close = buf.find(')', p);
    if (close == std::string::npos) return false;
    std::string params = buf.substr(p, close + 1 - p);
    int expansions = 0;
    bool failed = false;
    replace_params(params, expansions, failed);
    if (failed) return false;
    long long v[3];
    int count = 0;
    const char* c = params.c_str();
    for (;;) {
        char* end = nullptr;
        errno = 0;
        v[count++] = std::strtoll(c, &end, 0);
        if (errno == ERANGE) return false;
        c = end;
        while (is_blank(*c)) ++c;
        if (*c == ')') break;
        if (*c != ',' || count == 3) return false;
        ++c;
    }
    Seq seq;
    seq.var = buf.substr(var, var_end - var);
    seq.hex = hex;
    if (count == 1) {
        seq.last = v[0];
        seq.step = v[0] < 1 ? -1 : 1;
        seq.next = v[0] < 0 ? -1 : 1;
    } else if (count == 2) {
        seq.next = v[0];
        seq.last = v[1];
        seq.step = v[0] <= v[1] ? 1 : -1;
    } else {
        seq.next = v[0];
        seq.step = v[1];
        seq.last = v[2];
        if (seq.step == 0 || (seq.next < seq.last && seq.step < 0) || (seq.next > seq.last && seq.step > 0))
            return false;
    }
    if (hex && (seq.next < 0 || seq.last < 0)) return false;
    seq.text = buf.substr(skip_blanks(buf, close + 1));
    seqs_.push_back(std::move(seq));
    return true;
}


// keepalived add_lst(): `~LST(VAR, V1, V2, ...)` or `~LST({A, B}, {A1, B1}, {A2, B2}, ...)`
// then TEXT: TEXT once per value (set), with VAR (A, B) defined as the value; missing
// values of a set are empty, extra ones an error.
bool Lexer::add_lst(const std::string& buf) {
    Seq seq;
    std::size_t p = skip_blanks(buf, 4);
    if (p >= buf.size() || buf[p++] != '(') return false;
    p = skip_blanks(buf, p);
    char end_char = ',';
    if (p < buf.size() && buf[p] == '{') {
        end_char = '}';
        p = skip_blanks(buf, p + 1);
    }
    for (;;) {
        const std::size_t end = word_end(buf, p, " \t,}");
        seq.vars.push_back(buf.substr(p, end - p));
        p = skip_blanks(buf, end);
        if (p >= buf.size()) return false;
        if (buf[p] == end_char) break;
        if (buf[p] != ',') return false;
        p = skip_blanks(buf, p + 1);
    }
    if (buf[p] == '}') p = skip_blanks(buf, p + 1);
    if (p >= buf.size() || buf[p++] != ',') return false;
    p = skip_blanks(buf, p);
    for (;;) {
        std::vector<std::string> set;
        end_char = ',';
        if (p < buf.size() && buf[p] == '{') {
            end_char = '}';
            p = skip_blanks(buf, p + 1);
        }
        for (;;) {
            const std::size_t end = word_end(buf, p, " \t,})");
            set.push_back(buf.substr(p, end - p));
            p = skip_blanks(buf, end);
            if (p >= buf.size()) return false;
            if (buf[p] == end_char || (buf[p] == ')' && end_char == ',')) break;
            if (buf[p] != ',') return false;
            p = skip_blanks(buf, p + 1);
            if (set.size() >= seq.vars.size()) {
                error(file_, line_, "~LST: a set has more values than there are variables");
                return false;
            }
        }
        set.resize(seq.vars.size());
        seq.sets.push_back(std::move(set));
        if (buf[p] == '}' && end_char == '}') p = skip_blanks(buf, p + 1);
        if (p >= buf.size()) return false;
        if (buf[p] == ')') break;
        if (buf[p] != ',') return false;
        p = skip_blanks(buf, p + 1);
    }
    seq.text = buf.substr(skip_blanks(buf, p + 1));
    seqs_.push_back(std::move(seq));
    return true;
}

// The next line of the innermost ~SEQ or ~LST, with its definitions set; the generator
// ends after its last value. False when the byte limit stops reading.
bool Lexer::next_generated(std::string& buf) {
    Seq& s = seqs_.back();
    buf = s.text;
    if (!charge(buf.size() + 1)) return false;
    if (!s.vars.empty()) {
        for (std::size_t i = 0; i < s.vars.size(); ++i) defs_[s.vars[i]] = Def{s.sets[s.next_set][i], false, Def::Fn::None};
        if (++s.next_set == s.sets.size()) seqs_.pop_back();
        return true;
    }
    defs_[s.var] = Def{s.hex ? fmt::format("{:x}", s.next) : fmt::format("{}", s.next), false, Def::Fn::None};
    long long next = 0;
    if (__builtin_add_overflow(s.next, s.step, &next) || (s.step > 0 && next > s.last) || (s.step < 0 && next < s.last))
        seqs_.pop_back();
    else
        s.next = next;
    return true;
}

}  // namespace lvsd::config::keepalived::detail
