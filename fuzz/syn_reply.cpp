// libFuzzer target: what the SYN prober's raw sockets receive (an IPv4 datagram with its
// header, or an IPv6 TCP segment alone), issue #16.
#include <cstddef>
#include <cstdint>
#include <span>

#include "healthcheck/detail/tcp_segment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lvsd::healthcheck::detail;
    const std::span<const uint8_t> in(data, size);
    (void)parse_reply_v4(in);
    (void)parse_reply_v6(boost::asio::ip::make_address("2001:db8::2"), in);
    return 0;
}
