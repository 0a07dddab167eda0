// The man pages the package installs are made from README.md (src/man). These tests fail
// when a configuration key, an lvsd option or an lvsctl command or option is missing from
// them, so the pages cannot fall behind the code: the keys come from the loader's own
// table (config/detail/keys.hpp), the options from the texts `lvsd --help` and
// `lvsctl --help` print.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "config/detail/keys.hpp"
#include "ctl/command.hpp"
#include "daemon/options.hpp"
#include "man/markdown.hpp"
#include "man/pages.hpp"

using namespace lvsd;

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::map<std::string, std::string> pages() {
    const std::string readme = std::string(LVSD_SOURCE_DIR) + "/README.md";
    auto r = man::render_pages(read(readme), readme, "test");
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::map<std::string, std::string> out;
    if (r)
        for (auto& p : *r) out[p.file] = p.roff;
    return out;
}

// The words in bold in the tags of a page's tagged paragraphs (.TP), as a reader sees
// them; with `only_section`, only those under that .SH.
std::set<std::string> tags(const std::string& roff, const std::string& only_section = "") {
    std::set<std::string> out;
    const auto lines = man::split_lines(roff);
    std::string current;
    const std::regex bold(R"(\\fB(.*?)\\f[RPI])");
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].starts_with(".SH ")) current = lines[i].substr(4);
        if (lines[i] != ".TP" || i + 1 >= lines.size()) continue;
        if (!only_section.empty() && current != only_section) continue;
        const std::string& tag = lines[i + 1];
        for (std::sregex_iterator it(tag.begin(), tag.end(), bold), end; it != end; ++it) {
            std::string word = man::roff_to_text((*it)[1].str());
            word.pop_back();  // roff_to_text ends the line
            out.insert(word);
            // A tag like "-f, --config FILE" or "lvsctl realserver up --vip ADDR": each word.
            std::istringstream words(word);
            for (std::string w; words >> w;) out.insert(w.back() == ',' ? w.substr(0, w.size() - 1) : w);
        }
    }
    return out;
}

// `-f`, `--config`, ... at the start of the option lines of a --help text.
std::set<std::string> options_in(const std::string& help) {
    std::set<std::string> out;
    const std::regex option(R"((?:^|[ ,\[])(--?[a-z][a-z-]*))");
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);)
        for (std::sregex_iterator it(line.begin(), line.end(), option), end; it != end; ++it)
            out.insert((*it)[1].str());
    return out;
}

}  // namespace

TEST(ManPages, TheThreePagesAreMade) {
    auto p = pages();
    for (const char* f : {"lvsd.8", "lvsctl.8", "lvsd.conf.5"}) {
        ASSERT_TRUE(p.count(f)) << f;
        EXPECT_NE(p[f].find(".SH NAME\n"), std::string::npos) << f;
        EXPECT_NE(p[f].find(".SH SEE ALSO\n"), std::string::npos) << f;
    }
}

TEST(ManPages, LvsdConf5DocumentsEveryKeyTheLoaderAccepts) {
    const auto documented = tags(pages()["lvsd.conf.5"]);
    ASSERT_GT(documented.size(), 100u);
    for (const auto& s : config::detail::sections())
        for (const auto& key : s.keys)
            EXPECT_TRUE(documented.count(std::string(key))) << "lvsd.conf(5) has no entry for " << s.section << "."
                                                            << key;
}

TEST(ManPages, Lvsd8DocumentsEveryOptionOfLvsdHelp) {
    const auto documented = tags(pages()["lvsd.8"], "OPTIONS");
    const auto options = options_in(daemon::usage());
    ASSERT_TRUE(options.count("--config") && options.count("-t")) << daemon::usage();
    for (const auto& o : options) EXPECT_TRUE(documented.count(o)) << "lvsd(8) OPTIONS has no entry for " << o;
}

TEST(ManPages, Lvsctl8DocumentsEveryCommandAndOptionOfLvsctlHelp) {
    const auto documented = tags(pages()["lvsctl.8"]);
    const auto options = options_in(ctl::usage());
    ASSERT_TRUE(options.count("--vip") && options.count("--json")) << ctl::usage();
    for (const auto& o : options) EXPECT_TRUE(documented.count(o)) << "lvsctl(8) has no entry for " << o;
    // The verbs: the first word of each command line of the help text.
    std::istringstream lines(ctl::usage());
    std::set<std::string> verbs;
    bool in_commands = false;
    for (std::string line; std::getline(lines, line);) {
        if (line == "commands:") in_commands = true;
        else if (line.empty()) in_commands = false;
        else if (in_commands && line.starts_with("  ") && line[2] != ' ') verbs.insert(line.substr(2, line.find(' ', 2) - 2));
    }
    ASSERT_EQ(verbs, (std::set<std::string>{"status", "reload", "drain", "undrain", "progress", "disable", "enable",
                                            "weight", "failover", "hold", "realserver"}));
    for (const auto& v : verbs) EXPECT_TRUE(documented.count(v)) << "lvsctl(8) has no entry for " << v;
    for (const char* sub : {"up", "down"}) EXPECT_TRUE(documented.count(sub)) << "lvsctl(8): realserver " << sub;
    // The exit statuses, the usage error's as lvsctl returns it.
    const std::string text = man::roff_to_text(pages()["lvsctl.8"]);
    EXPECT_NE(text.find("Exit status: 0 when"), std::string::npos);
    EXPECT_NE(text.find(std::to_string(ctl::kUsageError) + " for a mistake in the command line"), std::string::npos);
}

// The unit's Documentation= names pages the package installs.
TEST(ManPages, TheSystemdUnitsDocumentationResolves) {
    const std::string unit = read(std::string(LVSD_SOURCE_DIR) + "/packaging/lvsd.service");
    const std::regex ref(R"(man:([a-z.]+)\(([0-9])\))");
    auto p = pages();
    int refs = 0;
    for (std::sregex_iterator it(unit.begin(), unit.end(), ref), end; it != end; ++it, ++refs)
        EXPECT_TRUE(p.count((*it)[1].str() + "." + (*it)[2].str())) << (*it)[0].str();
    EXPECT_GE(refs, 1) << "lvsd.service has no Documentation=man:...";
}

TEST(ManPages, AMissingSectionIsAnErrorThatNamesIt) {
    auto r = man::render_pages("# lvsd\n\nno sections\n", "X.md", "1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "X.md: no heading \"Command line\": the man pages are made from that section");
}
