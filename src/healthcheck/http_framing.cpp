// The response framing on Boost.Beast's http::basic_parser: the one translation unit of
// lvsd that includes Beast's HTTP parser (detail/http_framing.hpp says what it adds).
//
// Beast's parser takes bytes through put(), which consumes what it could parse; the rest
// must be presented again with what comes next. While the head is read, the bytes go to it
// a whole line at a time (so that the status line is seen as soon as it is complete, and a
// bare LF can be made CRLF before Beast sees it); body bytes go to it as they arrive, and
// only what it leaves unconsumed (an incomplete chunk-size line, the trailer section) is
// kept.
#include "healthcheck/detail/http_framing.hpp"

#include <optional>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

namespace lvsd::healthcheck::detail {
namespace {

namespace http = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

std::string_view view(string_view s) { return {s.data(), s.size()}; }

// The parser of one response (a fresh one for each: Beast's parsers are not reused).
class Parser final : public http::basic_parser<false> {
public:
    enum class Stop { No, Sink, Switched, BadStatus };

    explicit Parser(std::size_t max_head_bytes) {
        header_limit(static_cast<std::uint32_t>(max_head_bytes));
        body_limit(boost::none);  // the sink bounds what it reads (and the probe's timeout the time)
        eager(true);
    }

    ResponseSink* sink = nullptr;
    unsigned status = 0;
    Stop stop = Stop::No;

private:
    // Beast's callbacks report a stop as an error; stop says which it was.
    void halt(Stop why, error_code& ec) {
        stop = why;
        ec = boost::system::errc::make_error_code(boost::system::errc::operation_canceled);
    }

    void on_request_impl(http::verb, string_view, string_view, int, error_code&) override {}

    void on_response_impl(int code, string_view, int, error_code& ec) override {
        status = static_cast<unsigned>(code);
        if (code < 100 || code > 599) return halt(Stop::BadStatus, ec);  // RFC 9110 section 15
        if (code == 101) return halt(Stop::Switched, ec);
        if (code < 200) return;  // interim: its head is read and skipped
        if (!sink->on_status(status)) halt(Stop::Sink, ec);
    }

    void on_field_impl(http::field, string_view, string_view, error_code&) override {}
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}

    std::size_t on_body_impl(string_view body, error_code& ec) override {
        if (!sink->on_body(view(body))) halt(Stop::Sink, ec);
        return body.size();
    }

    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        if (!sink->on_body(view(body))) halt(Stop::Sink, ec);
        return body.size();
    }

    void on_finish_impl(error_code&) override {}
};

}  // namespace

struct ResponseFraming::Impl {
    explicit Impl(std::size_t max_head) : max_head(max_head) { parser.emplace(max_head); }

    std::size_t max_head;
    std::optional<Parser> parser;
    std::string pending;      // bytes put() left unconsumed, to present again
    std::string line;         // a line of the head not complete yet
    std::size_t head_bytes = 0;  // of the current response's head handed to the parser (CRLF lines)
    std::string status_line;  // the current response's, for reasons
    unsigned interim = 0;     // interim responses skipped so far
    unsigned last_interim = 0;
    State state = State::More;
    std::string error;

    State fail(std::string why) {
        error = std::move(why);
        state = State::Failed;
        return state;
    }

    std::string describe(const error_code& ec) const {
        using E = http::error;
        if (ec == E::header_limit) return fmt::format("response headers longer than {} bytes", max_head);
        if (ec == E::bad_version || ec == E::bad_status || ec == E::bad_reason)
            return fmt::format("malformed status line '{}'", status_line);
        if (ec == E::bad_content_length) return "malformed Content-Length, or one beside Transfer-Encoding";
        if (ec == E::multiple_content_length) return "conflicting Content-Length values";
        if (ec == E::bad_transfer_encoding) return "malformed Transfer-Encoding, or one beside Content-Length";
        if (ec == E::bad_chunk) return "malformed chunk size line";
        if (ec == E::bad_chunk_extension) return "malformed chunk extension";
        if (!parser->is_header_done()) return fmt::format("malformed response headers ({})", ec.message());
        return fmt::format("malformed response ({})", ec.message());
    }

    // Hands `data` to the parser; returns how much of it was consumed.
    std::size_t put(std::string_view data, ResponseSink& sink) {
        parser->sink = &sink;
        error_code ec;
        const std::size_t used = parser->put(boost::asio::const_buffer(data.data(), data.size()), ec);
        switch (parser->stop) {
            case Parser::Stop::No: break;
            case Parser::Stop::Sink: state = State::Done; return used;
            case Parser::Stop::Switched:
                fail("the server switched protocols (101) though the request asked for no upgrade");
                return used;
            case Parser::Stop::BadStatus: fail(fmt::format("malformed status line '{}'", status_line)); return used;
        }
        if (ec && ec != http::error::need_more) {
            fail(describe(ec));
        } else if (parser->is_done() && parser->status >= 200) {
            state = State::Done;
        } else if (parser->is_done()) {
            // RFC 9110 section 15.2: an interim response; the final one follows on the
            // connection, read by a parser of its own.
            last_interim = parser->status;
            if (++interim > kMaxInterim) {
                fail(fmt::format("more than {} interim (1xx) responses", kMaxInterim));
            } else {
                parser.emplace(max_head);
                head_bytes = 0;
                status_line.clear();
            }
        }
        return used;
    }

    // Presents what is pending, again while responses (interim ones) end inside it.
    void drain(ResponseSink& sink) {
        while (state == State::More && !pending.empty()) {
            const unsigned skipped = interim;
            pending.erase(0, put(pending, sink));
            if (interim == skipped) break;  // the parser waits for more bytes
        }
    }

    // One line of the head, complete with its LF, as received.
    void head_line(ResponseSink& sink) {
        if (line.size() < 2 || line[line.size() - 2] != '\r') line.insert(line.size() - 1, 1, '\r');  // bare LF
        if (status_line.empty()) {
            status_line = line.substr(0, std::min<std::size_t>(line.size() - 2, 64));
            // `HTTP/1.0 503` ends right after the code: Beast wants the space before the
            // (empty) reason phrase.
            const auto digit = [&](std::size_t i) { return line[i] >= '0' && line[i] <= '9'; };
            if (line.size() == 14 && line[8] == ' ' && digit(9) && digit(10) && digit(11)) line.insert(12, 1, ' ');
        }
        head_bytes += line.size();
        pending += line;
        line.clear();
        drain(sink);
    }

    State feed(std::string_view bytes, ResponseSink& sink) {
        while (state == State::More && !bytes.empty()) {
            if (parser->is_header_done()) {
                // The body: straight from `bytes` unless a part of a chunk-size line (or
                // of the trailer section) waits.
                if (pending.empty()) {
                    const std::size_t used = put(bytes, sink);
                    if (state == State::More) pending.assign(bytes.substr(used));
                } else {
                    pending.append(bytes);
                    drain(sink);
                }
                if (state == State::More && pending.size() > max_head)
                    return fail(fmt::format("chunk size line or trailer section longer than {} bytes", max_head));
                return state;
            }
            const auto nl = bytes.find('\n');
            const auto piece = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1);
            bytes.remove_prefix(piece.size());
            line.append(piece);
            if (status_line.empty()) {
                const std::size_t n = std::min<std::size_t>(line.size(), 5);
                if (line.compare(0, n, std::string_view("HTTP/").substr(0, n)) != 0)
                    return fail("the response is not HTTP (no HTTP/ status line)");
            }
            if (head_bytes + line.size() > max_head)
                return fail(fmt::format("response headers longer than {} bytes", max_head));
            if (nl != std::string_view::npos) head_line(sink);
        }
        return state;
    }

    State finish(ResponseSink& sink) {
        if (state != State::More) return state;
        if (!parser->is_header_done()) {
            if (head_bytes > 0 || !line.empty())
                return fail(status_line.empty() ? "connection closed inside the status line"
                                                 : "connection closed inside the response headers");
            if (interim == 0) return fail("connection closed without a response");
            if (interim == 1)
                return fail(fmt::format("connection closed after an interim {} response, before the final response",
                                        last_interim));
            return fail(fmt::format(
                "connection closed after {} interim responses (the last a {}), before the final response", interim,
                last_interim));
        }
        // The body ends here: at the close that delimits it, or cut short (Beast's
        // partial_message), which the sink's findings judge.
        parser->sink = &sink;
        error_code ec;
        parser->put_eof(ec);
        state = State::Done;
        return state;
    }
};

ResponseFraming::ResponseFraming(std::size_t max_head_bytes) : impl_(std::make_unique<Impl>(max_head_bytes)) {}
ResponseFraming::~ResponseFraming() = default;
ResponseFraming::ResponseFraming(ResponseFraming&&) noexcept = default;
ResponseFraming& ResponseFraming::operator=(ResponseFraming&&) noexcept = default;

ResponseFraming::State ResponseFraming::feed(std::string_view bytes, ResponseSink& sink) {
    return impl_->feed(bytes, sink);
}

ResponseFraming::State ResponseFraming::finish(ResponseSink& sink) { return impl_->finish(sink); }

const std::string& ResponseFraming::error() const { return impl_->error; }

}  // namespace lvsd::healthcheck::detail
