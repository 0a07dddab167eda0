// The shape of keepalived's `-d` dump, shared by the VRRP and checker readers
// (keepalived_dump_vrrp.cpp, keepalived_dump_check.cpp). Internal to the reading tool.
//
// keepalived 2.2.7 writes the dump as sections headed "------< NAME >------" at column 0;
// inside one, an entry starts at indent 1 ("VRRP Instance = VI_1"), its fields are at
// indent 3 ("Priority = 100") and a field whose text ends in ':' ("Virtual IP (1):",
// "Unicast Peer :") heads a list whose items are indented deeper. Deeper levels (the
// real servers of a virtual server, the checks of a real server) repeat the pattern with
// their own "------< Real server >------"-style sub-headers at a larger indent.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::testing::keepalived::dump {

// A line of the dump: its indent (count of leading spaces) and the text after it.
struct Line {
    std::size_t indent = 0;
    std::string text;
};

// The lines of section `name` ("VRRP Topology"), header excluded, up to the next
// column-0 header or a column-0 line that is not part of a dump. Empty when absent.
std::vector<Line> section(const std::vector<std::string>& lines, std::string_view name);

// An entry: the head line and the lines under it (deeper than the head's indent), in order.
struct Entry {
    std::string head;
    std::vector<Line> body;
    // The value of the first "key = value" body line at `indent` with that key.
    std::optional<std::string> get(std::string_view key, std::size_t indent) const;
    // The items of the list headed by the body line `header` (at `indent`): the following
    // lines indented deeper than it, up to the next line at `indent` or shallower.
    std::vector<std::string> list(std::string_view header, std::size_t indent) const;
    bool has(std::string_view text, std::size_t indent) const;
};
// Splits lines into entries at each line with `indent` (lines before the first dropped).
std::vector<Entry> entries(const std::vector<Line>& lines, std::size_t indent);

// "a = b" -> b for head lines like "VRRP Instance = VI_1".
std::string value_of(const std::string& head);

// Numbers as the dump prints them; a malformed one is a DumpError naming what and where.
struct DumpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
long integer(const std::string& s, std::string_view what);
double number(const std::string& s, std::string_view what);
// "5 sec" -> 5, "1000 milli-sec" -> 1, "6000000 us" -> 6, "5 secs" -> 5, "6.000000" -> 6.
double seconds(const std::string& s, std::string_view what);
// "'/bin/x' 'a b' 'c'" -> "/bin/x a b c" (keepalived quotes each argument).
std::string command(const std::string& s);
// "192.0.2.1" -> "192.0.2.1/32"; "2001:db8::1" -> "2001:db8::1/128"; with a length: as is.
std::string with_length(const std::string& addr);

}  // namespace lvsd::testing::keepalived::dump
