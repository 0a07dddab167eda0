// BIRD 2's control-socket (CLI) protocol, read as pure functions over the bytes BIRD sent.
// lvsd never configures BIRD; it only asks it what it really exports (issue 14).
//
// The protocol (BIRD's doc/reply_codes and client/client.c; checked against bird 2.0.12):
// the client sends one command per line; every reply line starts either with a 4-digit
// code and a separator, or with a space (a continuation: the previous line's code again):
//     "1002-device1    Device  ..."   '-': more lines follow
//     " lvsd4      Kernel  ..."        continuation of the last code
//     "0000 "                          ' ': the last line of the reply
// Codes: 0xxx the reply's end (0000 OK, 0001 greeting, 0013 status), 1xxx table rows,
// 2xxx table headings, 8xxx run-time errors (8001 "Network not found"), 9xxx parse errors
// (9001 "syntax error, ..."). Both error ranges end the reply on their own line.
// Lines starting with '+' are asynchronous messages; they are skipped.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::announce {

// Limits on what lvsd accepts from the socket: a line longer than this is not BIRD's.
// A reply with 10 000 announced routes is about 1 MB.
inline constexpr std::size_t kBirdMaxLine = 4096;
inline constexpr std::size_t kBirdMaxReply = 16 * 1024 * 1024;

struct BirdLine {
    int code = 0;      // 0..9999; a continuation line carries the code it continues
    std::string text;  // the line without code, separator and newline
};

struct BirdReply {
    std::vector<BirdLine> lines;  // every line, the final one included
    int final_code = 0;           // the code of the last line
    // 8xxx and 9xxx: BIRD refused or failed the command; the last line says why.
    bool failed() const { return final_code >= 8000; }
    std::string error_text() const;  // "9001 syntax error, ..." (empty when not failed)
};

// Where the first complete reply in `buffer` ends (the offset after its final newline),
// or nullopt while it is incomplete. Error when a line outgrows kBirdMaxLine, the reply
// outgrows kBirdMaxReply, or a line is neither a code line nor a continuation.
Result<std::optional<std::size_t>> find_reply_end(std::string_view buffer);

// Splits one complete reply (as delimited by find_reply_end) into its lines.
Result<BirdReply> parse_reply(std::string_view reply);

// The greeting on connect: "0001 BIRD 2.0.12 ready." -> "2.0.12".
Result<std::string> parse_greeting(const BirdReply& reply);

// `show protocols`: one row per protocol.
struct BirdProtocol {
    std::string name;   // "router4"
    std::string proto;  // "BGP", "Kernel", "BFD", "Device", ...
    std::string table;  // "master4", "---" for protocols without a main channel
    std::string state;  // BIRD's core state: "up", "start", "stop", "down", "flush"
    std::string since;  // as BIRD formats it (timeformat protocol)
    std::string info;   // "Established", "Active        Socket: Connection closed", ""
    bool up() const { return state == "up"; }
    // A BGP session that carries routes: state up and info "Established".
    bool established() const;
};
Result<std::vector<BirdProtocol>> parse_protocols(const BirdReply& reply);

// `show route ...` (export P, protocol P, all): one entry per route; a network with
// several routes appears once per route. 1008/1012 attribute lines (`all`) are skipped.
struct BirdRoute {
    Prefix network;                  // 192.0.2.10/32
    std::string table;               // "master4"
    std::string protocol;            // the route's source: "lvsd4", "lb1_4"
    bool primary = false;            // '*': the route BIRD selected for the network
    std::vector<std::string> next_hops;  // "dev lo", "via 198.51.100.1 on eth0"
};
Result<std::vector<BirdRoute>> parse_routes(const BirdReply& reply);

// `show bfd sessions`.
struct BirdBfdSession {
    std::string protocol;   // "bfd1"
    IpAddress address;      // the neighbour
    std::string interface;  // "eth0"
    std::string state;      // "Up", "Down", "Init", "AdminDown"
    std::string since;
    std::string interval;   // seconds as BIRD prints them: "0.100"
    std::string timeout;    // detection time in seconds: "0.300"
    bool up() const { return state == "Up"; }
};
Result<std::vector<BirdBfdSession>> parse_bfd_sessions(const BirdReply& reply);

}  // namespace lvsd::announce
