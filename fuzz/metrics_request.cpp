// libFuzzer target: the request head a client sends to the metrics endpoint (request
// line and header fields, up to the blank line), issue #16.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/metrics_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > lvsd::daemon::kMaxRequestHead) return 0;  // the server stops reading there
    auto request = lvsd::daemon::classify_request(std::string_view(reinterpret_cast<const char*>(data), size));
    (void)request;
    return 0;
}
