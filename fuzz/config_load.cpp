// libFuzzer target: lvsd.conf texts through the whole loader (libconfig, then every
// section's reader and the cross-checks), issue #16. Host checks are off: the fuzzer's
// texts name no real scripts, users or files, and must not depend on this machine.
// @include is followed relative to the working directory that scripts/fuzz gives
// every target (an empty directory of its own).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto loaded = lvsd::config::load_string(text, "fuzz.conf", lvsd::config::LoadOptions{.host_checks = false});
    if (loaded.ok()) (void)lvsd::config::format_plan(*loaded.config());
    return 0;
}
