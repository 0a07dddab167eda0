// The packets fixtures/capture.sh captured from keepalived 2.2.7, as bytes.
#pragma once

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lvsd::testing {

// fixtures/NAME: hex bytes separated by blanks, any number per line; `#` lines are comments.
inline std::vector<std::byte> load_hex(const std::string& name) {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/tests/unit/vrrp/fixtures/" + name);
    EXPECT_TRUE(in) << "missing fixture " << name;
    std::vector<std::byte> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string w;
        while (words >> w) out.push_back(std::byte(std::stoi(w, nullptr, 16)));
    }
    return out;
}

}  // namespace lvsd::testing
