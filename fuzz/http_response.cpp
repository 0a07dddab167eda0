// libFuzzer target: a real server's answer to an HTTP_GET / SSL_GET / PROXY_CHECK request
// (status line, header fields, Content-Length, chunked or close-delimited body, interim
// 1xx responses), issue #16. The first byte picks where the bytes are cut in two (they
// arrive in pieces) and whether the body is searched and digested; then the peer closes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "healthcheck/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using lvsd::healthcheck::ResponseReader;
    if (size < 1) return 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t cut = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    ResponseReader reader((data[0] & 0x80) ? "OK" : "", 64, (data[0] & 0x40) != 0);
    if (reader.feed(bytes.substr(0, cut)) == ResponseReader::Progress::NeedMore &&
        reader.feed(bytes.substr(cut)) == ResponseReader::Progress::NeedMore)
        (void)reader.finish();
    return 0;
}
