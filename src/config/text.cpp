#include "config/detail/text.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

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
    // Three rolling rows (the transposition looks two rows back) instead of the whole
    // matrix: "did you mean" runs this against every keyword for every unknown word.
    const std::size_t m = b.size();
    std::vector<std::size_t> rows(3 * (m + 1));
    auto row = [&](std::size_t i) { return rows.data() + (i % 3) * (m + 1); };
    for (std::size_t j = 0; j <= m; ++j) row(0)[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t* d = row(i);
        const std::size_t* up = row(i - 1);
        const std::size_t* up2 = row(i - 2 + 3);  // only read when i > 1
        d[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[j] = std::min({up[j] + 1, d[j - 1] + 1, up[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[j] = std::min(d[j], up2[j - 2] + 1);
        }
    }
    return row(a.size())[m];
}

std::optional<std::string> nearest(std::string_view word, std::span<const std::string_view> candidates) {
    // One edit for short words, up to a third of the length for long ones: close enough
    // to be a typo, far enough not to suggest "ops" for "port".
    const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3));
    std::optional<std::string> best;
    std::size_t best_distance = SIZE_MAX;
    for (auto c : candidates) {
        if (iequal(word, c)) return std::string(c);
        // The distance is at least the difference in length: skip what cannot be near.
        if ((word.size() > c.size() ? word.size() - c.size() : c.size() - word.size()) > limit) continue;
        const std::size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(c);
        }
    }
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

namespace lvsd::config::detail {

namespace {

std::vector<std::string_view> words_of(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
        if (j > i) out.push_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

template <class T>
std::optional<T> number_of(std::string_view w, int base = 10) {
    T v{};
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v, base);
    if (ec != std::errc{} || end != w.data() + w.size() || w.empty()) return std::nullopt;
    return v;
}

}  // namespace

std::variant<GroupEntry, std::string> parse_group_entry(std::string_view text) {
    const auto w = words_of(text);
    if (w.empty()) return std::string("an empty entry; write \"ADDRESS PORT\", \"FIRST-LAST PORT\" or \"fwmark N\"");
    GroupEntry e;
    if (w[0] == "fwmark") {
        if (w.size() < 2 || w.size() > 3) return std::string("write \"fwmark N\" or \"fwmark N inet|inet6\"");
        auto mark = number_of<uint32_t>(w[1]);
        if (!mark || *mark == 0) return fmt::format("fwmark '{}' is not a number in 1..4294967295", w[1]);
        e.fwmark = *mark;
        if (w.size() == 3) {
            if (w[2] == "inet") e.family = Family::V4;
            else if (w[2] == "inet6") e.family = Family::V6;
            else return fmt::format("'{}' is not inet or inet6", w[2]);
        }
        return e;
    }
    if (w.size() != 2) return fmt::format("\"{}\" is not \"ADDRESS PORT\", \"FIRST-LAST PORT\" or \"fwmark N\"", text);
    auto port = number_of<uint16_t>(w[1]);
    if (!port) return fmt::format("port '{}' is not a number in 0..65535", w[1]);
    e.port = *port;
    const auto dash = w[0].find('-');
    auto first = parse_address(w[0].substr(0, dash));
    if (!first) return fmt::format("'{}' is not an IPv4 or IPv6 address", w[0].substr(0, dash));
    if (first->is_unspecified() || first->is_multicast())
        return fmt::format("{} must be a unicast address", *first);
    if (dash == std::string_view::npos) {
        e.addresses.push_back(*first);
        return e;
    }
    // The range replaces the last part of the address (keepalived's "192.0.2.10-20").
    const std::string_view last_text = w[0].substr(dash + 1);
    const bool v4 = first->is_v4();
    auto last = number_of<uint32_t>(last_text, v4 ? 10 : 16);
    if (!last || *last > (v4 ? 255u : 0xffffu))
        return fmt::format("range end '{}' is not the last part of an {} address ({})", last_text, v4 ? "IPv4" : "IPv6",
                           v4 ? "0..255" : "hexadecimal 0..ffff");
    auto bytes16 = v4 ? std::array<unsigned char, 16>{} : first->to_v6().to_bytes();
    auto bytes4 = v4 ? first->to_v4().to_bytes() : std::array<unsigned char, 4>{};
    const uint32_t start = v4 ? bytes4[3] : (uint32_t{bytes16[14]} << 8 | bytes16[15]);
    if (*last < start)
        return fmt::format("range {} ends below its start", w[0]);
    if (*last - start + 1 > kMaxGroupRange)
        return fmt::format("range {} has {} addresses, more than {}", w[0], *last - start + 1, kMaxGroupRange);
    for (uint32_t n = start; n <= *last; ++n) {
        if (v4) {
            bytes4[3] = static_cast<unsigned char>(n);
            e.addresses.emplace_back(boost::asio::ip::address_v4(bytes4));
        } else {
            bytes16[14] = static_cast<unsigned char>(n >> 8);
            bytes16[15] = static_cast<unsigned char>(n & 0xff);
            e.addresses.emplace_back(boost::asio::ip::address_v6(bytes16));
        }
    }
    return e;
}

}  // namespace lvsd::config::detail
