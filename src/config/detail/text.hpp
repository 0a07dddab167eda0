// Small text helpers of the config loader, in a header of their own so that the unit
// tests can drive them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/net.hpp"

namespace lvsd::config::detail {

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so
// that "prority" and "priortiy" are both one edit away from "priority".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo
// (case-only differences count as a match), else nothing.
std::optional<std::string> nearest(std::string_view word, std::span<const std::string_view> candidates);

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

// One entry of a virtual_server_group as keepalived writes it: "ADDRESS PORT",
// "FIRST-LAST PORT" (LAST is the last part of the address: decimal for IPv4,
// "192.0.2.10-20"; hexadecimal for IPv6, "2001:db8::a-f"; both ends included) or
// "fwmark N [inet|inet6]". At most kMaxGroupRange addresses per entry.
struct GroupEntry {
    uint32_t fwmark = 0;
    std::optional<Family> family;  // fwmark entries: when written
    std::vector<IpAddress> addresses;
    uint16_t port = 0;
};
inline constexpr std::size_t kMaxGroupRange = 256;
// The entry, or why it is wrong (a message without location).
std::variant<GroupEntry, std::string> parse_group_entry(std::string_view text);

}  // namespace lvsd::config::detail
