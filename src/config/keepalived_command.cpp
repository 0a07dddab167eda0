// How keepalived 2.2.7 takes a command (a vrrp_script's `script`, a notify, MISC_CHECK's
// `misc_path`, quorum_up/down) apart, learnt by running keepalived on test files and
// reading its dump (tests/netns/config/keepalived_reader_vs_keepalived_test.cpp keeps it
// honest): the statement's whole text is split into words once with quotes and
// backslash escapes, and the command is its second word, split the same way again.
// So `script /bin/check a b` runs /bin/check alone (a and b are other words of the
// statement), `script "/bin/check a b"` passes two arguments, and `\"/bin/check\"`
// becomes the quoted word "/bin/check" and then /bin/check.
#include <cctype>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "config/detail/keepalived_translate.hpp"

namespace lvsd::config::keepalived::detail {

namespace {

bool is_white(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One escape after a backslash at text[i] (i past the backslash); appends the character
// it stands for and returns the position after it.
std::size_t unescape(std::string_view text, std::size_t i, std::string& out) {
    const char c = text[i];
    if (c == 'x' && i + 1 < text.size() && hex_value(text[i + 1]) >= 0) {
        // As many hex digits as follow, folded into one byte (keepalived keeps the low 8 bits).
        unsigned value = 0;
        for (++i; i < text.size() && hex_value(text[i]) >= 0; ++i) value = (value << 4) | static_cast<unsigned>(hex_value(text[i]));
        out += static_cast<char>(value & 0xff);
        return i;
    }
    if (c == 'c' && i + 1 < text.size()) {
        out += static_cast<char>(text[i + 1] & 0x1f);
        return i + 2;
    }
    if (is_octal(c)) {
        unsigned value = 0;
        for (int n = 0; n < 3 && i < text.size() && is_octal(text[i]); ++n, ++i) value = value * 8 + static_cast<unsigned>(text[i] - '0');
        out += static_cast<char>(value & 0xff);
        return i;
    }
    switch (c) {
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'E': out += '\x1b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        default: out += c; break;  // \" \' \\ \  and any other character stand for themselves
    }
    return i + 1;
}

}  // namespace

std::variant<std::vector<std::string>, std::string> escaped_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t i = 0;
    for (;;) {
        while (i < text.size() && is_white(text[i])) ++i;
        if (i == text.size()) return words;
        std::string word;
        char quote = 0;
        while (i < text.size()) {
            const char c = text[i];
            if (c == '\\') {
                if (i + 1 == text.size()) return fmt::format("'{}': a '\\' at the end escapes nothing", text);
                i = unescape(text, i + 1, word);
            } else if (quote) {
                if (c == quote) quote = 0;
                else word += c;
                ++i;
            } else if (c == '"' || c == '\'') {
                quote = c;
                ++i;
            } else if (is_white(c)) {
                break;
            } else {
                word += c;
                ++i;
            }
        }
        if (quote) return fmt::format("'{}': no closing {}", text, quote);
        words.push_back(std::move(word));
    }
}

std::variant<CommandWords, std::string> command_words(std::string_view statement_text) {
    auto outer = escaped_words(statement_text);
    if (auto* why = std::get_if<std::string>(&outer)) return *why;
    auto& words = std::get<std::vector<std::string>>(outer);
    if (words.size() < 2) return std::string("needs a command");
    auto inner = escaped_words(words[1]);
    if (auto* why = std::get_if<std::string>(&inner)) return *why;
    CommandWords out;
    out.argv = std::move(std::get<std::vector<std::string>>(inner));
    if (out.argv.empty()) return std::string("needs a command (the quotes hold none)");
    out.extra.assign(std::make_move_iterator(words.begin() + 2), std::make_move_iterator(words.end()));
    return out;
}

std::string quoted_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) out += ' ';
        const bool plain = !a.empty() && a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_@%+=:,./-") == std::string::npos;
        out += plain ? a : single_quoted(a);
    }
    return out;
}

std::string single_quoted(std::string_view word) {
    std::string out = "'";
    for (char ch : word) out += ch == '\'' ? std::string_view("'\\''") : std::string_view(&ch, 1);
    out += '\'';
    return out;
}

}  // namespace lvsd::config::keepalived::detail
