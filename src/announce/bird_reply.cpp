#include "announce/bird_reply.hpp"

#include <cctype>

namespace lvsd::announce {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "1002-..." or "0000 ...": the code, or -1 when the line has no code prefix.
int code_of(std::string_view line) {
    if (line.size() < 5 || (line[4] != '-' && line[4] != ' ')) return -1;
    int code = 0;
    for (int i = 0; i < 4; ++i) {
        if (!is_digit(line[i])) return -1;
        code = code * 10 + (line[i] - '0');
    }
    return code;
}

// "0000" alone (no separator) also ends a reply: BIRD writes "0000 \n", but be lenient.
bool is_bare_end(std::string_view line) {
    return line.size() == 4 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
           is_digit(line[3]);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Next whitespace-separated word of `s`, removed from it.
std::string_view next_word(std::string_view& s) {
    s = trim(s);
    std::size_t n = 0;
    while (n < s.size() && s[n] != ' ' && s[n] != '\t') ++n;
    auto w = s.substr(0, n);
    s.remove_prefix(n);
    return w;
}

Error bad(std::string_view what, std::size_t line, std::string_view text) {
    return make_error(0, "BIRD reply line {}: {}: '{}'", line + 1, what,
                      text.substr(0, 80));
}

}  // namespace

std::string BirdReply::error_text() const {
    if (!failed() || lines.empty()) return {};
    return fmt::format("{:04d} {}", final_code, lines.back().text);
}

bool BirdProtocol::established() const {
    return up() && info.rfind("Established", 0) == 0;
}

Result<std::optional<std::size_t>> find_reply_end(std::string_view buffer) {
    std::size_t pos = 0;
    bool any_code = false;
    while (pos < buffer.size()) {
        auto nl = buffer.find('\n', pos);
        if (nl == std::string_view::npos) {
            if (buffer.size() - pos > kBirdMaxLine)
                return make_error(0, "BIRD reply: a line longer than {} bytes", kBirdMaxLine);
            break;
        }
        auto line = buffer.substr(pos, nl - pos);
        if (line.size() > kBirdMaxLine)
            return make_error(0, "BIRD reply: a line longer than {} bytes", kBirdMaxLine);
        pos = nl + 1;
        if (!line.empty() && line[0] == '+') continue;  // asynchronous message
        int code = code_of(line);
        if (code >= 0) {
            any_code = true;
            if (line[4] == ' ') return std::optional<std::size_t>(pos);
        } else if (is_bare_end(line)) {
            return std::optional<std::size_t>(pos);
        } else if (line.empty() || line[0] != ' ' || !any_code) {
            return make_error(0, "BIRD reply: not a reply line: '{}'", line.substr(0, 80));
        }
    }
    if (buffer.size() > kBirdMaxReply)
        return make_error(0, "BIRD reply: longer than {} bytes", kBirdMaxReply);
    return std::optional<std::size_t>{};
}

Result<BirdReply> parse_reply(std::string_view reply) {
    BirdReply out;
    int last = -1;
    std::size_t index = 0;
    bool ended = false;
    while (!reply.empty()) {
        auto nl = reply.find('\n');
        auto line = reply.substr(0, nl);
        reply.remove_prefix(nl == std::string_view::npos ? reply.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (ended) return bad("text after the reply's last line", index, line);
        if (line.size() > kBirdMaxLine) return bad("line too long", index, line.substr(0, 80));
        if (!line.empty() && line[0] == '+') {
            ++index;
            continue;
        }
        int code = code_of(line);
        if (code >= 0) {
            out.lines.push_back({code, std::string(line.substr(5))});
            last = code;
            ended = line[4] == ' ';
        } else if (is_bare_end(line)) {
            out.lines.push_back({code_of(std::string(line) + " "), {}});
            last = out.lines.back().code;
            ended = true;
        } else if (!line.empty() && line[0] == ' ' && last >= 0) {
            out.lines.push_back({last, std::string(line.substr(1))});
        } else {
            return bad("not a reply line", index, line);
        }
        ++index;
    }
    if (!ended) return make_error(0, "BIRD reply: incomplete (no final line)");
    out.final_code = out.lines.back().code;
    return out;
}

Result<std::string> parse_greeting(const BirdReply& reply) {
    // "0001 BIRD 2.0.12 ready."
    if (reply.final_code != 1 || reply.lines.size() != 1)
        return make_error(0, "BIRD greeting: expected code 0001, got '{:04d} {}'", reply.final_code,
                          reply.lines.empty() ? "" : reply.lines.back().text);
    std::string_view t = reply.lines[0].text;
    if (next_word(t) != "BIRD")
        return make_error(0, "BIRD greeting: not BIRD: '{}'", reply.lines[0].text);
    auto version = next_word(t);
    if (version.empty()) return make_error(0, "BIRD greeting: no version: '{}'", reply.lines[0].text);
    return std::string(version);
}

Result<std::vector<BirdProtocol>> parse_protocols(const BirdReply& reply) {
    if (reply.failed()) return make_error(0, "BIRD: show protocols: {}", reply.error_text());
    std::vector<BirdProtocol> out;
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
        const auto& l = reply.lines[i];
        if (l.code != 1002) continue;  // 2002 heading, 0000 end
        std::string_view t = l.text;
        BirdProtocol p;
        p.name = next_word(t);
        p.proto = next_word(t);
        p.table = next_word(t);
        p.state = next_word(t);
        if (p.state.empty()) return bad("protocol row with fewer than 4 columns", i, l.text);
        // Since is printed as %-12s then two spaces: it may hold one space itself (an
        // ISO long time format), so it ends at the first run of two spaces.
        t = trim(t);
        auto gap = t.find("  ");
        p.since = std::string(trim(t.substr(0, gap)));
        if (gap != std::string_view::npos) p.info = std::string(trim(t.substr(gap)));
        out.push_back(std::move(p));
    }
    return out;
}

Result<std::vector<BirdRoute>> parse_routes(const BirdReply& reply) {
    std::vector<BirdRoute> out;
    // "8001 Network not found": nothing matches, which is an answer, not a failure.
    if (reply.final_code == 8001) return out;
    if (reply.failed()) return make_error(0, "BIRD: show route: {}", reply.error_text());
    std::string table;
    std::optional<Prefix> network;
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
        const auto& l = reply.lines[i];
        if (l.code != 1007) continue;  // 1008/1012 attributes, 0000 end
        std::string_view t = l.text;
        if (trim(t).empty()) continue;
        if (t.rfind("Table ", 0) == 0) {
            t.remove_prefix(6);
            t = trim(t);
            if (t.empty() || t.back() != ':') return bad("table heading without ':'", i, l.text);
            t.remove_suffix(1);
            table = std::string(t);
            network.reset();
            continue;
        }
        if (t[0] == '\t') {  // a next hop of the last route
            if (out.empty()) return bad("next hop before any route", i, l.text);
            out.back().next_hops.emplace_back(trim(t));
            continue;
        }
        if (t[0] != ' ') {  // a new network: "192.0.2.10/32        unicast [lvsd4 ...] * (10)"
            auto word = next_word(t);
            network = parse_prefix(word);
            if (!network) return bad("not a network", i, l.text);
        } else if (!network) {
            return bad("route without a network", i, l.text);
        }
        // "unicast [lvsd4 19:26:57.932] * (10)" (another route of the same network
        // starts with spaces where the network would be).
        BirdRoute r;
        r.network = *network;
        r.table = table;
        auto open = t.find('[');
        if (open == std::string_view::npos) return bad("route without [protocol ...]", i, l.text);
        auto close = t.find(']', open);
        if (close == std::string_view::npos) return bad("route without ']'", i, l.text);
        std::string_view inside = t.substr(open + 1, close - open - 1);
        r.protocol = std::string(next_word(inside));
        if (r.protocol.empty()) return bad("route without a protocol", i, l.text);
        std::string_view after = trim(t.substr(close + 1));
        r.primary = !after.empty() && after[0] == '*';
        out.push_back(std::move(r));
    }
    return out;
}

Result<std::vector<BirdBfdSession>> parse_bfd_sessions(const BirdReply& reply) {
    if (reply.failed()) return make_error(0, "BIRD: show bfd sessions: {}", reply.error_text());
    std::vector<BirdBfdSession> out;
    std::string protocol;
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
        const auto& l = reply.lines[i];
        if (l.code != 1020) continue;
        std::string_view t = trim(l.text);
        if (t.empty() || t.rfind("IP address", 0) == 0) continue;  // the column heading
        if (t.back() == ':' && t.find(' ') == std::string_view::npos) {  // "bfd1:"
            protocol = std::string(t.substr(0, t.size() - 1));
            continue;
        }
        // address interface state since... interval timeout
        std::vector<std::string_view> w;
        while (!trim(t).empty()) w.push_back(next_word(t));
        if (w.size() < 6) return bad("BFD session row with fewer than 6 columns", i, l.text);
        auto address = parse_address(w[0]);
        if (!address) return bad("BFD session without a neighbour address", i, l.text);
        BirdBfdSession s;
        s.protocol = protocol;
        s.address = *address;
        s.interface = w[1];
        s.state = w[2];
        for (std::size_t k = 3; k + 2 < w.size(); ++k) {
            if (!s.since.empty()) s.since += ' ';
            s.since += w[k];
        }
        s.interval = w[w.size() - 2];
        s.timeout = w[w.size() - 1];
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace lvsd::announce
