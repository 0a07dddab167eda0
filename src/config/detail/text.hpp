// Small text helpers of the config loader, in a header of their own so that the unit
// tests can drive them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::config::detail {

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so
// that "prority" and "priortiy" are both one edit away from "priority".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo
// (case-only differences count as a match), else nothing.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string_view>& candidates);

// Splits a notify command like a shell splits words: blanks separate, single and double
// quotes group (backslash escapes the next character outside single quotes). Returns
// nothing for an unterminated quote.
std::optional<std::vector<std::string>> split_command(std::string_view text);
// Whether `text` means something only a shell gives it: an unquoted pipe, list,
// redirection, subshell, glob, tilde or comment, a variable or command substitution
// (also inside double quotes), or an assignment before the command. split_command()
// covers the rest, so a command runs without a shell unless it needs one.
bool needs_shell(std::string_view text);

// libconfig 1.5 silently wraps decimal integers beyond 32 bits (5000000000 reads as
// 705032704). This finds such literals in the raw text, skipping strings and comments.
struct WideInteger {
    int line = 0;
    std::string literal;
    int32_t wrapped = 0;  // what libconfig reads instead (saturated to 64 bits, then the low 32)
};
std::vector<WideInteger> find_wide_integers(std::string_view text);

}  // namespace lvsd::config::detail
