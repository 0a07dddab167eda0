// libFuzzer target: a request line on the control socket (issue #15). Whatever parses
// must print back to a line that parses to the same request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ctl/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 2 * lvsd::ctl::kMaxRequestLine) return 0;  // the server stops reading long before
    auto request = lvsd::ctl::parse_request(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!request) return 0;
    auto again = lvsd::ctl::parse_request(std::string_view(lvsd::ctl::format_request(*request)));
    if (!again || !(*again == *request)) std::abort();
    return 0;
}
