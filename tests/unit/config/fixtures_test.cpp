// Each file in testdata/ is a broken configuration for one class of problem, ending in
// `# expect: LINE: message` comments: load_file must report exactly those lines, in
// that order, as `FILE:LINE: message` (what `lvsd -t -f FILE` prints).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace fs = std::filesystem;
using namespace lvsd::config;

namespace {

const fs::path kTestdata = fs::path(LVSD_SOURCE_DIR) / "tests/unit/config/testdata";

std::vector<std::string> fixture_names() {
    std::vector<std::string> names;
    for (auto& e : fs::directory_iterator(kTestdata))
        if (e.path().extension() == ".conf") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> expected_lines(const fs::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    const std::string tag = "# expect: ";
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(tag)) out.push_back(file.string() + ":" + line.substr(tag.size()));
    return out;
}

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, ReportsExactlyTheExpectedProblems) {
    const fs::path file = kTestdata / (GetParam() + ".conf");
    const auto expected = expected_lines(file);
    ASSERT_FALSE(expected.empty()) << file << " has no '# expect:' lines";
    auto result = load_file(file.string());
    ASSERT_FALSE(result.ok()) << file << " was accepted";
    EXPECT_EQ(result.config(), nullptr);
    std::vector<std::string> got;
    for (auto& d : result.diagnostics()) got.push_back(to_string(d));
    EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Testdata, Fixture, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) { return info.param; });

// The fixtures are the evidence that every class of problem is caught; a class whose
// fixture disappears must fail loudly instead of silently losing its test.
TEST(Fixtures, EveryClassOfProblemHasOne) {
    const std::vector<std::string> classes = {
        "advert_int", "bad_address", "duplicates", "family_mismatch", "missing_key", "notify", "out_of_range",
        "scheduler",  "service_rules", "sync_group", "syntax_error", "unknown_key", "wrong_type"};
    const auto present = fixture_names();
    for (auto& c : classes) EXPECT_NE(std::find(present.begin(), present.end(), c), present.end()) << c;
}

TEST(Fixtures, SyntaxErrorIsTheOnlyReport) {
    // The instance in that file also has priority = 300, which must not be reported:
    // after a syntax error libconfig gives no tree to check.
    auto result = load_file((kTestdata / "syntax_error.conf").string());
    ASSERT_EQ(result.diagnostics().size(), 1u);
    EXPECT_EQ(result.diagnostics()[0].line, 7);
}

}  // namespace
