#include "daemon/json.hpp"

#include <fmt/format.h>

namespace lvsd::daemon {

std::string json_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", c);
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace lvsd::daemon
