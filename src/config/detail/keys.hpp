// The keys each configuration section accepts: one table for the loader (unknown-key
// errors and "did you mean") and for the test that keeps the README's configuration reference in step.
#pragma once

#include <string_view>
#include <vector>

namespace lvsd::config::detail {

struct SectionKeys {
    std::string_view section;  // "configuration" for the top level, else the key or list name
    std::vector<std::string_view> keys;
};

const std::vector<SectionKeys>& sections();
// The keys of one section; `section` must be one of sections() (a programming error otherwise).
const std::vector<std::string_view>& keys_of(std::string_view section);

}  // namespace lvsd::config::detail
