// libFuzzer target: IPVS generic-netlink messages as the kernel's dump replies bring
// them (services, destinations, sync daemons, timeouts), issue #16. The input is one
// netlink message; its length field is made to fit the input, as the receive path
// only hands over messages that fit the datagram (libnl's nlmsg_ok).
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ipvs/detail/netlink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < NLMSG_HDRLEN || size > 1 << 16) return 0;
    // Aligned storage, as a receive buffer is.
    std::vector<uint32_t> storage((size + 3) / 4);
    std::memcpy(storage.data(), data, size);
    auto* nlh = reinterpret_cast<nlmsghdr*>(storage.data());
    nlh->nlmsg_len = static_cast<uint32_t>(size);
    using namespace lvsd;
    (void)ipvs::detail::decode(nlh, "fuzzed message", Family::V4, true);
    (void)ipvs::detail::decode(nlh, "fuzzed message", Family::V6, false);
    (void)ipvs::detail::decode_op(nlh);
    return 0;
}
