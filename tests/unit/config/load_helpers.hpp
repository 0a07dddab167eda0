// What the configuration unit tests ask of the loader, on text named "t.conf": every
// problem as `FILE:LINE: message`, a config that must load, a text with exactly one problem.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace lvsd::config::test {

inline std::vector<std::string> problems(std::string_view text) {
    std::vector<std::string> out;
    for (auto& d : load_string(text, "t.conf").diagnostics()) out.push_back(to_string(d));
    return out;
}

inline std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += x + "\n";
    return s;
}

// Loads or fails the test with every problem.
inline std::shared_ptr<const Config> valid(std::string_view text) {
    auto r = load_string(text, "t.conf");
    EXPECT_TRUE(r.ok()) << joined(problems(text));
    return r.config();
}

// Exactly one problem, containing `what`.
inline void one_problem(std::string_view text, std::string_view what) {
    auto p = problems(text);
    ASSERT_EQ(p.size(), 1u) << "for: " << text << "\n" << joined(p);
    EXPECT_THAT(p[0], ::testing::HasSubstr(std::string(what))) << "for: " << text;
}

}  // namespace lvsd::config::test
