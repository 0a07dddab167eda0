// The README's "Configuration" section documents exactly the keys the loader accepts: a
// key added to the loader without a table row, or a row for a key the loader rejects,
// fails here.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "config/detail/keys.hpp"

using namespace lvsd::config;

namespace {

using KeySet = std::set<std::string>;

// Section -> keys in the first column of its tables. A heading names its section by its
// first `backticked` word (the last dotted part of it); two headings have prose names.
std::map<std::string, KeySet> documented_keys() {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/README.md");
    std::map<std::string, KeySet> out;
    std::string section;
    const std::regex tick("`([^`]+)`");
    bool in_reference = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("## ")) in_reference = line == "## Configuration";
        if (!in_reference) continue;
        if (line.starts_with("#")) {
            std::smatch m;
            section.clear();
            if (line.find("Top level") != std::string::npos) section = "configuration";
            else if (line.find("Health checks") != std::string::npos) section = "common to the checks";
            else if (std::regex_search(line, m, tick)) section = m[1].str().substr(m[1].str().rfind('.') + 1);
            continue;
        }
        if (section.empty() || !line.starts_with("| `")) continue;
        const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
        for (std::sregex_iterator it(first_cell.begin(), first_cell.end(), tick), end; it != end; ++it)
            out[section].insert((*it)[1].str());
    }
    return out;
}

TEST(ReferenceDoc, DocumentsExactlyTheKeysTheLoaderAccepts) {
    auto doc = documented_keys();
    ASSERT_FALSE(doc.empty()) << "README.md has no \"## Configuration\" section with key tables";
    // Each check's table lists only its own keys; the common ones are in the "Health
    // checks" table.
    const KeySet common = doc["common to the checks"];
    doc.erase("common to the checks");
    for (const char* check : {"TCP_CHECK", "HTTP_GET", "SSL_GET", "PROXY_CHECK", "UDP_CHECK", "DNS_CHECK", "SMTP_CHECK"})
        doc[check].insert(common.begin(), common.end());
    for (const auto& s : detail::sections()) {
        const KeySet loader(s.keys.begin(), s.keys.end());
        EXPECT_EQ(doc[std::string(s.section)], loader) << "section " << s.section;
    }
    for (const auto& [section, keys] : doc) {
        bool known = false;
        for (const auto& s : detail::sections()) known = known || s.section == section;
        EXPECT_TRUE(known) << "the reference documents section '" << section << "', which the loader does not have";
    }
}

}  // namespace
