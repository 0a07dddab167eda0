// SMTP_CHECK's dialogue, pure: the replies the server sends, read from raw bytes, and
// the next command or the verdict. The Asio shell (smtp_probe.cpp) only moves bytes.
//
// The dialogue is keepalived's (check_smtp.c, 2.2.7): read the greeting, expect 220;
// send `HELO <helo_name>`, expect 250; send `QUIT`. Where keepalived is loose, lvsd
// follows RFC 5321:
// - Replies may span lines (section 4.2.1): `250-first`, `250-second`, `250 last`. Every
//   line carries the same code; the reply ends at the line whose code is followed by a
//   space or by nothing. keepalived 2.2.7 reads one line only, so it fails a multi-line
//   220 greeting (and takes the rest of such a greeting for the HELO reply).
// - A reply code is three digits, the first 2-5, the second 0-5 (section 4.2, Reply-code).
// - QUIT must be answered with 221 (section 4.1.1.10); keepalived takes any line.
// Lines end with CRLF; a bare LF is accepted too (as keepalived does).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lvsd::healthcheck {

// keepalived's default helo_name (SMTP_DEFAULT_HELO in its check_smtp.h).
inline constexpr std::string_view kDefaultHeloName = "smtpchecker.keepalived.org";

// Whether `name` can follow HELO: 1-255 bytes (RFC 5321 section 4.5.3.1.2, a domain) of
// visible ASCII, so that it can neither end the command line early nor add a command.
bool valid_helo_name(std::string_view name);

// One reply, read incrementally from the stream.
class SmtpReplyReader {
public:
    // All lines of one reply together. RFC 5321 section 4.5.3.1.5 allows 512 bytes a line;
    // a reply of several lines is bounded here so that a babbling peer costs little.
    static constexpr std::size_t kMaxReplyBytes = 4096;

    enum class Progress {
        NeedMore,   // feed more bytes
        Complete,   // code() and text() are the reply; rest() holds bytes that followed it
        Malformed,  // error() says why
    };

    Progress feed(std::string_view bytes);
    unsigned code() const { return code_; }
    // The first line's text after the code, printable ASCII only, at most 80 bytes (for
    // failure reasons and logs).
    const std::string& text() const { return text_; }
    const std::string& error() const { return error_; }
    // Bytes received after the end of a complete reply (further feeds are ignored).
    std::string take_rest();

private:
    Progress line(std::string_view l);
    Progress fail(std::string message);

    std::string pending_;  // bytes of an unfinished line (and, once Complete, what followed)
    std::size_t total_ = 0;
    unsigned code_ = 0;
    bool done_ = false;
    std::string text_;
    std::string error_;
};

// The whole dialogue. After each feed() the shell writes what take_send() returns, and it
// stops when done(). A server that sends more than the reply before lvsd's next command
// talks out of turn (RFC 5321 section 4.3.1): the check fails.
class SmtpSession {
public:
    explicit SmtpSession(std::string helo_name);

    // Bytes from the server.
    void feed(std::string_view bytes);
    // The server closed the connection (EOF).
    void closed();

    // A command to write now (empties it), or empty.
    std::string take_send();
    bool done() const { return done_; }
    bool ok() const { return ok_; }
    // The verdict's reason once done(): "220 greeting, 250 to HELO, 221 to QUIT",
    // "greeting 554, expected 220: no service", ...
    const std::string& reason() const { return reason_; }
    // What the session waits for: "the greeting", "the reply to HELO", "the reply to QUIT".
    std::string_view waiting_for() const;

private:
    enum class Stage { Greeting, Helo, Quit };
    void finish(bool ok, std::string reason);
    void reply(unsigned code, const std::string& text);

    std::string helo_name_;
    Stage stage_ = Stage::Greeting;
    SmtpReplyReader reader_;
    std::string send_;
    bool done_ = false;
    bool ok_ = false;
    std::string reason_;
};

}  // namespace lvsd::healthcheck
