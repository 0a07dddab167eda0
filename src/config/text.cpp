#include "config/detail/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace lvsd::config::detail {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool is_ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '*';
}

// What libconfig 1.5 makes of an integer literal too wide for 32 bits: strtoll-style
// saturation to 64 bits, then the low 32 bits as a signed int.
int32_t wrap(std::string_view digits, unsigned base, bool negative) {
    unsigned __int128 v = 0;
    const unsigned __int128 cap = negative ? (unsigned __int128)INT64_MAX + 1 : base == 16 ? UINT64_MAX : INT64_MAX;
    for (char c : digits) {
        const unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? unsigned(c - '0') : unsigned(lower(c) - 'a' + 10);
        v = v * base + d;
        if (v > cap) {
            v = cap;
            break;
        }
    }
    uint64_t bits = static_cast<uint64_t>(v);
    if (negative) bits = ~bits + 1;
    return static_cast<int32_t>(static_cast<uint32_t>(bits));
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = SIZE_MAX;
    for (auto c : candidates) {
        if (iequal(word, c)) return std::string(c);
        const std::size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(c);
        }
    }
    // One edit for short words, up to a third of the length for long ones: close enough
    // to be a typo, far enough not to suggest "ops" for "port".
    const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3));
    if (best && best_distance <= limit) return best;
    return std::nullopt;
}

bool needs_shell(std::string_view text) {
    char quote = 0;
    bool word_start = true, first_word = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote == '\'') {
            if (c == '\'') quote = 0;
            continue;
        }
        if (c == '\\') {
            ++i;
            word_start = false;
            continue;
        }
        if (quote == '"') {
            if (c == '"') quote = 0;
            else if (c == '$' || c == '`') return true;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            word_start = false;
            continue;
        }
        if (c == ' ' || c == '\t') {
            if (!word_start) first_word = false;
            word_start = true;
            continue;
        }
        if (std::string_view("|&;<>()$`*?[{\n").find(c) != std::string_view::npos) return true;
        if ((c == '#' || c == '~') && word_start) return true;
        if (c == '=' && first_word) return true;
        word_start = false;
    }
    return false;
}

std::optional<std::vector<std::string>> split_command(std::string_view text) {
    std::vector<std::string> words;
    std::string current;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote == '\'') {
            if (c == '\'') quote = 0;
            else current += c;
        } else if (c == '\\' && i + 1 < text.size()) {
            current += text[++i];
            in_word = true;
        } else if (quote == '"') {
            if (c == '"') quote = 0;
            else current += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) words.push_back(std::move(current));
            current.clear();
            in_word = false;
        } else {
            current += c;
            in_word = true;
        }
    }
    if (quote) return std::nullopt;
    if (in_word) words.push_back(std::move(current));
    return words;
}

std::vector<WideInteger> find_wide_integers(std::string_view text) {
    std::vector<WideInteger> found;
    int line = 1;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == '"') {  // string: skip to the closing quote, honouring escapes
            ++i;
            while (i < n && text[i] != '"') {
                if (text[i] == '\\') ++i;
                else if (text[i] == '\n') ++line;
                ++i;
            }
            ++i;
        } else if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
            while (i < n && text[i] != '\n') ++i;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            i += 2;
            while (i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/')) {
                if (text[i] == '\n') ++line;
                ++i;
            }
            i += 2;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '*') {
            while (i < n && is_ident_char(text[i])) ++i;  // a setting name, not a number
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            const bool negative = i > 0 && text[i - 1] == '-';
            std::size_t j = i;
            while (j < n && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
                             ((text[j] == '+' || text[j] == '-') && (lower(text[j - 1]) == 'e'))))
                ++j;
            const std::string_view lit = text.substr(i, j - i);
            const bool hex = lit.size() > 1 && lit[0] == '0' && lower(lit[1]) == 'x';
            const bool is_float = !hex && lit.find_first_of(".eE") != std::string_view::npos;
            const bool is_long = !lit.empty() && lower(lit.back()) == 'l';
            if (!hex && !is_float && !is_long &&
                std::all_of(lit.begin(), lit.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
                // Compare as text: longer than 10 digits or above the limit does not fit.
                const std::string_view limit = negative ? "2147483648" : "2147483647";
                std::string_view digits = lit;
                while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
                if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit))
                    found.push_back({line, std::string(negative ? "-" : "") + std::string(lit), wrap(lit, 10, negative)});
            } else if (hex && !is_long && lit.size() > 10) {
                std::string_view digits = lit.substr(2);
                while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
                if (digits.size() > 8) found.push_back({line, std::string(lit), wrap(lit.substr(2), 16, false)});
            }
            i = j;
        } else {
            ++i;
        }
    }
    return found;
}

}  // namespace lvsd::config::detail
