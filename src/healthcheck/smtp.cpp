#include "healthcheck/smtp.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace lvsd::healthcheck {
namespace {

// Server text as it may appear in a reason (and so in logs and lvsctl): printable
// ASCII, bounded.
std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) {
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? c : '?';
    }
    if (s.size() > max) out += "...";
    return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool valid_helo_name(std::string_view name) {
    return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

SmtpReplyReader::Progress SmtpReplyReader::fail(std::string message) {
    error_ = std::move(message);
    return Progress::Malformed;
}

SmtpReplyReader::Progress SmtpReplyReader::feed(std::string_view bytes) {
    if (done_) return Progress::Complete;  // one reader reads one reply
    if (!error_.empty()) return Progress::Malformed;
    pending_.append(bytes);
    for (;;) {
        const auto nl = pending_.find('\n');
        if (nl == std::string::npos) {
            // Checked before the line ends, so that a peer that never sends LF is cut off.
            if (total_ + pending_.size() > kMaxReplyBytes)
                return fail(fmt::format("is longer than {} bytes", kMaxReplyBytes));
            return Progress::NeedMore;
        }
        total_ += nl + 1;
        if (total_ > kMaxReplyBytes) return fail(fmt::format("is longer than {} bytes", kMaxReplyBytes));
        std::string l = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        const Progress p = line(l);
        if (p != Progress::NeedMore) return p;
    }
}

SmtpReplyReader::Progress SmtpReplyReader::line(std::string_view l) {
    // Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
    const bool coded = l.size() >= 3 && is_digit(l[0]) && is_digit(l[1]) && is_digit(l[2]) &&
                       (l.size() == 3 || l[3] == ' ' || l[3] == '-');
    if (!coded) return fail(fmt::format("is malformed: a line without a reply code: \"{}\"", printable(l, 40)));
    // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 section 4.2).
    if (l[0] < '2' || l[0] > '5' || l[1] > '5')
        return fail(fmt::format("is malformed: {} is not an SMTP reply code", l.substr(0, 3)));
    const unsigned code = static_cast<unsigned>((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
    if (code_ == 0) {
        code_ = code;
        text_ = printable(l.size() > 4 ? l.substr(4) : std::string_view{}, 80);
    } else if (code != code_) {
        return fail(fmt::format("is malformed: a line with code {} in a reply of code {}", code, code_));
    }
    if (l.size() > 3 && l[3] == '-') return Progress::NeedMore;
    done_ = true;
    return Progress::Complete;
}

std::string SmtpReplyReader::take_rest() { return std::exchange(pending_, {}); }

SmtpSession::SmtpSession(std::string helo_name) : helo_name_(std::move(helo_name)) {}

std::string_view SmtpSession::waiting_for() const {
    switch (stage_) {
        case Stage::Greeting: return "greeting";
        case Stage::Helo: return "reply to HELO";
        case Stage::Quit: return "reply to QUIT";
    }
    return "?";
}

void SmtpSession::finish(bool ok, std::string reason) {
    done_ = true;
    ok_ = ok;
    reason_ = std::move(reason);
    send_.clear();
}

void SmtpSession::feed(std::string_view bytes) {
    if (done_) return;
    const auto p = reader_.feed(bytes);
    if (p == SmtpReplyReader::Progress::NeedMore) return;
    if (p == SmtpReplyReader::Progress::Malformed) {
        finish(false, fmt::format("SMTP: {} {}", waiting_for(), reader_.error()));
        return;
    }
    const std::string rest = reader_.take_rest();
    const std::string_view answered = waiting_for();
    const unsigned code = reader_.code();
    const std::string text = reader_.text();
    reader_ = SmtpReplyReader{};
    reply(code, text);
    // Bytes that came with the reply were sent before the server could have read the
    // command that this reply calls for: it talks out of turn (an SMTP client must
    // wait for each reply, RFC 5321 section 4.3.1), so nothing it says can be trusted.
    if (!done_ && !rest.empty())
        finish(false, fmt::format("SMTP: {} bytes after the {}, before lvsd's next command: \"{}\"", rest.size(),
                                  answered, printable(rest, 40)));
}

void SmtpSession::reply(unsigned code, const std::string& text) {
    const std::string said = text.empty() ? std::string() : ": " + text;
    switch (stage_) {
        case Stage::Greeting:
            // RFC 5321 section 3.1: 554 (or anything but 220) means "no service here".
            if (code != 220) return finish(false, fmt::format("SMTP greeting {}, expected 220{}", code, said));
            send_ += fmt::format("HELO {}\r\n", helo_name_);
            stage_ = Stage::Helo;
            return;
        case Stage::Helo:
            if (code != 250) return finish(false, fmt::format("SMTP {} to HELO, expected 250{}", code, said));
            send_ += "QUIT\r\n";
            stage_ = Stage::Quit;
            return;
        case Stage::Quit:
            if (code != 221) return finish(false, fmt::format("SMTP {} to QUIT, expected 221{}", code, said));
            return finish(true, "SMTP 220 greeting, 250 to HELO, 221 to QUIT");
    }
}

void SmtpSession::closed() {
    if (done_) return;
    finish(false, fmt::format("SMTP: connection closed by the server before the {}", waiting_for()));
}

std::string SmtpSession::take_send() { return std::exchange(send_, {}); }

}  // namespace lvsd::healthcheck
