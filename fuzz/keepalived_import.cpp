// libFuzzer target: keepalived.conf texts through lvsd --from-keepalived (keepalived's
// grammar, then the translation and the loader's check of it), issue #16. `include`
// globs are relative to the working directory scripts/fuzz gives the target (empty).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/keepalived_translate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lvsd::config::keepalived;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto read = read_string(text, "fuzz.conf", {.host_name = "lb1"});
    auto translated = translate(std::move(read), "fuzz.conf");
    (void)translated;
    return 0;
}
