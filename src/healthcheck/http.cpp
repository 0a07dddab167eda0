#include "healthcheck/http.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::healthcheck {

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
    if (md_ && md5_.empty() && done_ && error_.empty()) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(md_.get(), out, &n) == 1)
            for (unsigned i = 0; i < n; ++i) md5_ += fmt::format("{:02x}", out[i]);
    }
    return md5_;
}

ResponseReader::Progress ResponseReader::fail(std::string message) {
    error_ = std::move(message);
    done_ = true;
    return Progress::Malformed;
}

ResponseReader::Progress ResponseReader::progress(detail::ResponseFraming::State state) {
    switch (state) {
        case detail::ResponseFraming::State::More: return Progress::NeedMore;
        case detail::ResponseFraming::State::Failed: return fail(framing_.error());
        case detail::ResponseFraming::State::Done: break;
    }
    done_ = true;
    return Progress::Complete;
}

ResponseReader::Progress ResponseReader::feed(std::string_view bytes) {
    if (done_) return error_.empty() ? Progress::Complete : Progress::Malformed;
    return progress(framing_.feed(bytes, *this));
}

ResponseReader::Progress ResponseReader::finish() {
    if (done_) return error_.empty() ? Progress::Complete : Progress::Malformed;
    return progress(framing_.finish(*this));
}

// The final status line: without a needle or a digest, the verdict is known.
bool ResponseReader::on_status(unsigned code) {
    status_ = code;
    return !needle_.empty() || md_;
}

// Looks for the needle in the decoded body, keeping only needle.size()-1 bytes from
// earlier pieces so that a match split across two of them is still found. Returns
// whether more of the body is needed.
bool ResponseReader::on_body(std::string_view data) {
    if (data.empty()) return true;
    // The digest needs every byte: the needle (if any) is looked for on the way.
    if (md_) EVP_DigestUpdate(md_.get(), data.data(), data.size());
    if (needle_.empty() || found_ || scanned_ >= max_body_scan_) return md_ != nullptr;
    data = data.substr(0, max_body_scan_ - scanned_);
    scanned_ += data.size();
    std::string window = tail_;
    window.append(data);
    if (window.find(needle_) != std::string::npos) found_ = true;
    const std::size_t keep = std::min(window.size(), needle_.size() - 1);
    tail_.assign(window, window.size() - keep, keep);
    return md_ || (!found_ && scanned_ < max_body_scan_);
}

}  // namespace lvsd::healthcheck
