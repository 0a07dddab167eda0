// libFuzzer target: what lvsd reads from BIRD's control socket (issue 14): the framing,
// then each of the reply readers on every complete reply.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "announce/bird_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lvsd::announce;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        auto end = find_reply_end(in);
        if (!end || !*end) break;
        auto reply = parse_reply(in.substr(0, **end));
        in.remove_prefix(**end);
        if (!reply) continue;
        (void)parse_greeting(*reply);
        (void)parse_protocols(*reply);
        (void)parse_routes(*reply);
        (void)parse_bfd_sessions(*reply);
    }
    return 0;
}
