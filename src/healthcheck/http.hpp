// The HTTP/1.1 part of the HTTP and proxy checks, pure: the request bytes, and an
// incremental response reader that stops as soon as the verdict is known and never
// holds more than a bounded amount of the response. The framing (status line, header
// fields, Content-Length, chunked, interim 1xx responses) is Boost.Beast's parser, behind
// detail/http_framing.hpp; what a check looks for in the body is here.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "healthcheck/detail/http_framing.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace lvsd::healthcheck {

// The MD5 of `bytes` as 32 lowercase hex digits (keepalived's genhash output).
std::string md5_hex(std::string_view bytes);

// `GET <target> HTTP/1.1` with Host and `Connection: close`. `target` is an origin-form
// path (`/health`) for HTTP_GET or an absolute-form URL for the proxy check.
std::string build_get_request(std::string_view target, std::string_view host);

// Interim responses (`100 Continue`, `103 Early Hints`, ...) are skipped: status() is the
// final response's. `101 Switching Protocols` is Malformed (the request asked for no upgrade).
class ResponseReader final : private detail::ResponseSink {
public:
    static constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
    static constexpr std::size_t kMaxBodyScan = 1024 * 1024;

    enum class Progress {
        NeedMore,   // feed more bytes
        Complete,   // everything needed is known (see status(), body_found())
        Malformed,  // see error()
    };

    // `needle`: the substring the body must contain; empty: the body is not read
    // and the reader completes right after the (final) status line.
    // `digest`: the whole decoded body is read (to its Content-Length, last chunk or the
    // peer's close) and hashed with MD5 as it streams by, nothing of it kept (keepalived's
    // HTTP_GET digest); body_md5() has it once Complete.
    explicit ResponseReader(std::string needle = {}, std::size_t max_body_scan = kMaxBodyScan,
                            bool digest = false);
    ~ResponseReader();
    ResponseReader(ResponseReader&&) noexcept;
    ResponseReader& operator=(ResponseReader&&) noexcept;

    Progress feed(std::string_view bytes);
    // The peer closed the connection.
    Progress finish();

    bool has_status() const { return status_ != 0; }
    unsigned status() const { return status_; }
    bool body_found() const { return found_; }
    // The needle was looked for in max_body_scan bytes and no further (the probe says so
    // in its failure reason: the text may come later in a longer body).
    bool scan_limit_reached() const { return scanned_ >= max_body_scan_; }
    // Lowercase hex MD5 of the body; empty unless constructed with `digest`.
    std::string body_md5();
    const std::string& error() const { return error_; }

private:
    bool on_status(unsigned code) override;
    bool on_body(std::string_view piece) override;
    Progress fail(std::string message);
    Progress progress(detail::ResponseFraming::State state);

    detail::ResponseFraming framing_{kMaxHeaderBytes};
    std::string needle_;
    std::size_t max_body_scan_;
    struct MdFree {
        void operator()(evp_md_ctx_st* c) const;
    };
    std::unique_ptr<evp_md_ctx_st, MdFree> md_;  // set when hashing the body
    std::string md5_;
    bool done_ = false;
    std::string tail_;  // the last needle.size()-1 body bytes, for matches across reads
    unsigned status_ = 0;
    std::size_t scanned_ = 0;
    bool found_ = false;
    std::string error_;
};

}  // namespace lvsd::healthcheck
