#include "healthcheck/http.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace lvsd::healthcheck {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
        if (iequals(hay.substr(i, needle.size()), needle)) return true;
    return false;
}

}  // namespace

std::string build_get_request(std::string_view target, std::string_view host) {
    return fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lvsd-healthcheck\r\nAccept: */*\r\n"
        "Connection: close\r\n\r\n",
        target, host);
}

std::string md5_hex(std::string_view bytes) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out, &n, EVP_md5(), nullptr) != 1) return {};
    std::string hex;
    for (unsigned i = 0; i < n; ++i) hex += fmt::format("{:02x}", out[i]);
    return hex;
}

void ResponseReader::MdFree::operator()(evp_md_ctx_st* c) const { EVP_MD_CTX_free(c); }

ResponseReader::ResponseReader(std::string needle, std::size_t max_body_scan, bool digest)
    : needle_(std::move(needle)), max_body_scan_(max_body_scan) {
    if (digest) {
        md_.reset(EVP_MD_CTX_new());
        if (md_ && EVP_DigestInit_ex(md_.get(), EVP_md5(), nullptr) != 1) md_.reset();
        if (!md_) error_ = "cannot set up MD5 (OpenSSL)";
    }
}

ResponseReader::~ResponseReader() = default;
ResponseReader::ResponseReader(ResponseReader&&) noexcept = default;
ResponseReader& ResponseReader::operator=(ResponseReader&&) noexcept = default;

std::string ResponseReader::body_md5() {
    if (md_ && md5_.empty() && stage_ == Stage::Done && error_.empty()) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(md_.get(), out, &n) == 1)
            for (unsigned i = 0; i < n; ++i) md5_ += fmt::format("{:02x}", out[i]);
    }
    return md5_;
}

ResponseReader::Progress ResponseReader::fail(std::string message) {
    error_ = std::move(message);
    stage_ = Stage::Done;
    return Progress::Malformed;
}

ResponseReader::Progress ResponseReader::complete() {
    stage_ = Stage::Done;
    return Progress::Complete;
}

ResponseReader::Progress ResponseReader::feed(std::string_view bytes) {
    if (stage_ == Stage::Done) return error_.empty() ? Progress::Complete : Progress::Malformed;
    if (stage_ == Stage::StatusLine || stage_ == Stage::Headers) {
        const std::size_t room = kMaxHeaderBytes - head_.size();
        const std::size_t take = std::min(room, bytes.size());
        const std::size_t old = head_.size();
        head_.append(bytes.substr(0, take));
        auto p = parse_head();
        if (p != Progress::NeedMore || stage_ == Stage::Headers || stage_ == Stage::StatusLine) {
            if (p == Progress::NeedMore && head_.size() >= kMaxHeaderBytes)
                return fail(fmt::format("response headers longer than {} bytes", kMaxHeaderBytes));
            return p;
        }
        // The head ended inside this read: what follows it is body.
        const std::size_t consumed = head_.size() - old;
        return feed_body(bytes.substr(consumed));
    }
    return feed_body(bytes);
}

// Parses what head_ holds. On the end of the headers, trims head_ to them and moves
// on to the body stage, so the caller knows how many bytes of the read were head.
ResponseReader::Progress ResponseReader::parse_head() {
    if (stage_ == Stage::StatusLine) {
        const std::size_t prefix = std::min<std::size_t>(head_.size(), 5);
        if (head_.compare(0, prefix, std::string_view("HTTP/").substr(0, prefix)) != 0)
            return fail("the response is not HTTP (no HTTP/ status line)");
        auto nl = head_.find('\n');
        if (nl == std::string::npos) return Progress::NeedMore;
        std::string_view line = trim(std::string_view(head_).substr(0, nl));
        // HTTP/1.x SP 3DIGIT [SP reason] (RFC 9112 section 4)
        if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
            (line.size() > 12 && line[12] != ' '))
            return fail(fmt::format("malformed status line '{}'", line.substr(0, 64)));
        unsigned code = 0;
        auto digits = line.substr(9, 3);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + 3, code);
        if (ec != std::errc{} || p != digits.data() + 3 || code < 100 || code > 599)
            return fail(fmt::format("malformed status line '{}'", line.substr(0, 64)));
        status_ = code;
        if (needle_.empty() && !md_) return complete();
        stage_ = Stage::Headers;
    }

    // End of headers: an empty line (CRLF CRLF, or bare LF LF from sloppy servers).
    std::size_t end = std::string::npos, body_at = 0;
    if (auto a = head_.find("\r\n\r\n"); a != std::string::npos) end = a, body_at = a + 4;
    if (auto b = head_.find("\n\n"); b != std::string::npos && b < end) end = b, body_at = b + 2;
    if (end == std::string::npos) return Progress::NeedMore;

    std::string_view headers = std::string_view(head_).substr(0, end);
    headers.remove_prefix(std::min(headers.size(), headers.find('\n') + 1));  // status line
    while (!headers.empty()) {
        auto nl = headers.find('\n');
        auto line = headers.substr(0, nl);
        headers = nl == std::string_view::npos ? std::string_view{} : headers.substr(nl + 1);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto name = trim(line.substr(0, colon));
        auto value = trim(line.substr(colon + 1));
        if (iequals(name, "Transfer-Encoding") && icontains(value, "chunked")) {
            chunked_ = true;
        } else if (iequals(name, "Content-Length")) {
            uint64_t n = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || p != value.data() + value.size())
                return fail(fmt::format("malformed Content-Length '{}'", value.substr(0, 32)));
            has_length_ = true;
            remaining_ = n;
        }
    }
    head_.resize(body_at);
    // RFC 9112 section 6.3: these responses have no body whatever the headers say.
    if (status_ < 200 || status_ == 204 || status_ == 304) return complete();
    if (chunked_) {
        stage_ = Stage::ChunkSize;  // chunked wins over Content-Length (RFC 9112 6.3)
        has_length_ = false;
        return Progress::NeedMore;
    }
    stage_ = Stage::Body;
    if (has_length_ && remaining_ == 0) return complete();
    return Progress::NeedMore;
}

ResponseReader::Progress ResponseReader::feed_body(std::string_view data) {
    while (!data.empty() && stage_ != Stage::Done) {
        switch (stage_) {
            case Stage::Body: {
                auto n = has_length_ ? static_cast<std::size_t>(std::min<uint64_t>(remaining_, data.size()))
                                     : data.size();
                if (auto p = scan(data.substr(0, n)); p != Progress::NeedMore) return p;
                data.remove_prefix(n);
                if (has_length_ && (remaining_ -= n) == 0) return complete();
                if (has_length_) break;
                return Progress::NeedMore;
            }
            case Stage::ChunkSize: {
                auto nl = data.find('\n');
                line_.append(data.substr(0, nl));
                if (line_.size() > 1024) return fail("chunk size line longer than 1024 bytes");
                if (nl == std::string_view::npos) return Progress::NeedMore;
                data.remove_prefix(nl + 1);
                std::string_view hex = trim(std::string_view(line_).substr(0, line_.find(';')));
                uint64_t size = 0;
                auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
                if (hex.empty() || ec != std::errc{} || p != hex.data() + hex.size())
                    return fail(fmt::format("malformed chunk size '{}'", hex.substr(0, 32)));
                line_.clear();
                if (size == 0) return complete();  // last chunk; trailers are not needed
                remaining_ = size;
                stage_ = Stage::ChunkData;
                break;
            }
            case Stage::ChunkData: {
                auto n = static_cast<std::size_t>(std::min<uint64_t>(remaining_, data.size()));
                if (auto p = scan(data.substr(0, n)); p != Progress::NeedMore) return p;
                data.remove_prefix(n);
                if ((remaining_ -= n) == 0) stage_ = Stage::ChunkDataEnd;
                break;
            }
            case Stage::ChunkDataEnd: {
                auto nl = data.find('\n');
                if (nl == std::string_view::npos) return Progress::NeedMore;
                data.remove_prefix(nl + 1);
                stage_ = Stage::ChunkSize;
                break;
            }
            default: return Progress::NeedMore;
        }
    }
    return stage_ == Stage::Done ? Progress::Complete : Progress::NeedMore;
}

// Looks for the needle in the decoded body, keeping only needle.size()-1 bytes from
// earlier reads so that a match split across two reads is still found.
ResponseReader::Progress ResponseReader::scan(std::string_view data) {
    if (data.empty()) return Progress::NeedMore;
    if (md_) {
        // The digest needs every byte: the needle (if any) is looked for on the way.
        EVP_DigestUpdate(md_.get(), data.data(), data.size());
        if (!needle_.empty() && !found_ && scanned_ < max_body_scan_) {
            auto part = data.substr(0, max_body_scan_ - scanned_);
            scanned_ += part.size();
            std::string window = tail_;
            window.append(part);
            if (window.find(needle_) != std::string::npos) found_ = true;
            const std::size_t keep = std::min(window.size(), needle_.size() - 1);
            tail_ = window.substr(window.size() - keep);
        }
        return Progress::NeedMore;
    }
    const std::size_t budget = max_body_scan_ - scanned_;
    if (data.size() > budget) data = data.substr(0, budget);
    scanned_ += data.size();
    std::string window = tail_;
    window.append(data);
    if (window.find(needle_) != std::string::npos) {
        found_ = true;
        return complete();
    }
    if (scanned_ >= max_body_scan_) return complete();
    const std::size_t keep = std::min(window.size(), needle_.size() - 1);
    tail_.assign(window, window.size() - keep, keep);
    return Progress::NeedMore;
}

ResponseReader::Progress ResponseReader::finish() {
    switch (stage_) {
        case Stage::StatusLine:
            return fail(head_.empty() ? "connection closed without a response"
                                      : "connection closed inside the status line");
        case Stage::Headers: return fail("connection closed inside the response headers");
        case Stage::Done: return error_.empty() ? Progress::Complete : Progress::Malformed;
        default: return complete();  // body ended (or was cut short): found_ says the rest
    }
}

}  // namespace lvsd::healthcheck
