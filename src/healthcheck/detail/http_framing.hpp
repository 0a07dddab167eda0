// The framing of the HTTP/1.1 response to a health check's request (RFC 9112): status
// line, header fields, and a body delimited by Content-Length, by the chunked coding or by
// the server's close. Boost.Beast's http::basic_parser does the parsing; http_framing.cpp is
// the one translation unit that includes Beast (it is header-heavy), and nothing of Beast
// shows through here.
//
// Around Beast's parser, what a health check needs and Beast does not do itself:
// - Interim responses (RFC 9110 section 15.2) are skipped: `100 Continue`, `103 Early Hints`
//   and the like, any number in a row, up to kMaxInterim; the sink sees the final response
//   only. `101 Switching Protocols` fails: the request asked for no upgrade, and after it the
//   connection no longer speaks HTTP.
// - Every limit is cumulative: the head (status line and header fields) within
//   max_head_bytes however the bytes arrive; a chunk-size line with its extensions, and the
//   trailer section, within max_head_bytes too.
// - Leniency Beast lacks, as browsers and keepalived have it: a bare LF ends a line of the
//   head (RFC 9112 section 2.2 allows it), and a status line may end right after its code
//   (`HTTP/1.0 503`, no space).
// - The status line is handed on as soon as it is complete, before the header fields: a
//   check that needs no body has its verdict there.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace lvsd::healthcheck::detail {

// What the framing finds in the final response. Returning false from either: nothing more
// is needed, the framing stops (State::Done).
class ResponseSink {
public:
    // The final response's status code (100-599 minus the interim ones), from its status
    // line, before its header fields are read.
    virtual bool on_status(unsigned code) = 0;
    // A piece of the body, decoded (no chunk framing); pieces come in order.
    virtual bool on_body(std::string_view piece) = 0;

protected:
    ~ResponseSink() = default;
};

class ResponseFraming {
public:
    // More interim responses than this before the final one fail the response.
    static constexpr unsigned kMaxInterim = 16;

    enum class State {
        More,    // feed more bytes
        Done,    // the response ended, or the sink wanted no more
        Failed,  // see error()
    };

    explicit ResponseFraming(std::size_t max_head_bytes);
    ~ResponseFraming();
    ResponseFraming(ResponseFraming&&) noexcept;
    ResponseFraming& operator=(ResponseFraming&&) noexcept;

    State feed(std::string_view bytes, ResponseSink& sink);
    // The peer closed the connection. A body cut short ends there (Done): the sink's
    // findings say the rest.
    State finish(ResponseSink& sink);
    // Why it Failed: `malformed status line 'HTTP/1.1 2x0 OK'`, `response headers longer
    // than 16384 bytes`, `connection closed inside the response headers`, ...
    const std::string& error() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsd::healthcheck::detail
