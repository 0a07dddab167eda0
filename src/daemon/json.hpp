// The few JSON helpers `lvsctl status --json` needs; the output is written by hand.
#pragma once

#include <string>
#include <string_view>

namespace lvsd::daemon {

// The contents of a JSON string literal (without the quotes).
std::string json_escape(std::string_view s);

}  // namespace lvsd::daemon
