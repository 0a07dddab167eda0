// libFuzzer target: rtnetlink datagrams as the host monitor's socket receives them
// (link and address messages, dumps, errors), issue #16.
#include <cstddef>
#include <cstdint>
#include <span>

#include "host/rtnl_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto decoded = lvsd::host::decode(std::span(reinterpret_cast<const std::byte*>(data), size));
    (void)decoded;
    return 0;
}
