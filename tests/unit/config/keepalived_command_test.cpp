// Commands (scripts, notifies, misc_path) as keepalived 2.2.7 takes them apart; each
// expectation here was read from keepalived's own dump of the same line
// (tests/netns/config/keepalived_reader_vs_keepalived_test.cpp runs keepalived on them).
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/detail/keepalived_translate.hpp"
#include "config/detail/text.hpp"
#include "config/keepalived_translate.hpp"

namespace lvsd::config::keepalived {
namespace {

using Words = std::vector<std::string>;

Words words(std::string_view text) {
    auto r = detail::escaped_words(text);
    if (auto* why = std::get_if<std::string>(&r)) ADD_FAILURE() << text << ": " << *why;
    auto* w = std::get_if<Words>(&r);
    return w ? *w : Words{};
}

Words argv_of(std::string_view statement) {
    auto r = detail::command_words(statement);
    if (auto* why = std::get_if<std::string>(&r)) ADD_FAILURE() << statement << ": " << *why;
    auto* c = std::get_if<detail::CommandWords>(&r);
    return c ? c->argv : Words{};
}

TEST(KeepalivedCommand, WordsSplitOnBlanksWithQuotesAndEscapes) {
    EXPECT_EQ(words("  a\tb  "), (Words{"a", "b"}));
    EXPECT_EQ(words(R"("a b" 'c d' e"f g"h)"), (Words{"a b", "c d", "ef gh"}));
    EXPECT_EQ(words(R"(a\ b \"c\")"), (Words{"a b", "\"c\""}));
    EXPECT_EQ(words(R"("a \"b\" \#")"), (Words{"a \"b\" #"}));
    EXPECT_EQ(words(R"('it\'s')"), (Words{"it's"}));  // a backslash escapes inside '...' too
    EXPECT_EQ(words(R"(\x41\101\cA\t\q)"), (Words{"AA\x01\tq"}));
    EXPECT_EQ(words(R"(\x4142)"), (Words{"B"}));  // every hex digit is taken, the low byte kept
    EXPECT_EQ(words(R"(\xg \c)"), (Words{"xg", "c"}));
    EXPECT_EQ(words(""), Words{});
}

TEST(KeepalivedCommand, AnUnclosedQuoteOrATrailingBackslashIsRefused) {
    for (std::string_view bad : {R"("abc)", R"('abc)", R"(abc\)"}) {
        auto r = detail::escaped_words(bad);
        EXPECT_TRUE(std::holds_alternative<std::string>(r)) << bad;
    }
}

// The cases keepalived's dump showed (Command = '...' '...').
TEST(KeepalivedCommand, TheCommandIsTheSecondWordSplitAgain) {
    EXPECT_EQ(argv_of(R"(script "/x a b")"), (Words{"/x", "a", "b"}));
    EXPECT_EQ(argv_of(R"(script "/x a\ b")"), (Words{"/x", "a", "b"}));
    EXPECT_EQ(argv_of(R"(script "/x 'a b'")"), (Words{"/x", "a b"}));
    EXPECT_EQ(argv_of(R"(script /x\ a)"), (Words{"/x", "a"}));
    EXPECT_EQ(argv_of(R"(script \"/x\")"), (Words{"/x"}));
    EXPECT_EQ(argv_of(R"(script "/x \"x y\" z#q")"), (Words{"/x", "x y", "z#q"}));
    EXPECT_EQ(argv_of(R"(script '/x a')"), (Words{"/x", "a"}));
    EXPECT_EQ(argv_of(R"(script "/x a"b)"), (Words{"/x", "ab"}));
    EXPECT_EQ(argv_of(R"(script "/x \x41 \101")"), (Words{"/x", "A", "A"}));
    auto r = detail::command_words(R"(notify_master "/x a" nobody nogroup)");
    ASSERT_TRUE(std::holds_alternative<detail::CommandWords>(r));
    EXPECT_EQ(std::get<detail::CommandWords>(r).extra, (Words{"nobody", "nogroup"}));
    // \"/x a\" is the word `"/x` and the word `a"`: keepalived drops the script.
    EXPECT_TRUE(std::holds_alternative<std::string>(detail::command_words(R"(script \"/x a\")")));
    EXPECT_TRUE(std::holds_alternative<std::string>(detail::command_words("script")));
}

TEST(KeepalivedCommand, QuotedCommandReadsBackAsTheSameWordsWithoutAShell) {
    for (const Words& argv : {Words{"/x"}, Words{"/x", "a b", "it's", "$HOME", "*", "a;b", "", "#c", "~u", "x|y"},
                              Words{"/bin/sh", "-c", "pidof haproxy || exit 1"}}) {
        const std::string text = detail::quoted_command(argv);
        SCOPED_TRACE(text);
        EXPECT_EQ(config::detail::split_command(text), argv);
        EXPECT_FALSE(config::detail::needs_shell(text));
    }
    EXPECT_EQ(detail::quoted_command({"/usr/bin/check", "--port=8080", "a,b:c@d%e+f"}),
              "/usr/bin/check --port=8080 a,b:c@d%e+f");
}

Translation of(std::string_view text) { return translate(read_string(text, "ka.conf", {.host_name = "lb1"}), "ka.conf"); }

std::string errors(const Translation& t) {
    std::string out;
    for (const auto& d : t.errors) out += to_string(d) + "\n";
    return out;
}

TEST(KeepalivedCommand, TranslatedCommandsRunWhatKeepalivedRuns) {
    auto t = of(R"(vrrp_script chk {
    script "/usr/bin/check --name 'a b' \$x"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    notify_master \"/usr/local/bin/master\" root
    track_script {
        chk
    }
    virtual_ipaddress {
        192.0.2.10
    }
}
)");
    ASSERT_TRUE(t.ok()) << errors(t);
    auto loaded = load_string(t.text, "out", LoadOptions{.host_checks = false});
    ASSERT_TRUE(loaded.ok()) << t.text;
    const auto& c = *loaded.config();
    EXPECT_EQ(c.vrrp_scripts.at(0).script.argv, (Words{"/usr/bin/check", "--name", "a b", "$x"}));
    ASSERT_TRUE(c.vrrp_instances.at(0).notify.master);
    EXPECT_EQ(c.vrrp_instances.at(0).notify.master->argv, (Words{"/usr/local/bin/master"}));
}

TEST(KeepalivedCommand, WhatKeepalivedWouldIgnoreOrRunAsAnotherUserIsRefused) {
    auto unquoted = of("vrrp_script chk {\n    script /usr/bin/check a b\n}\n");
    EXPECT_NE(errors(unquoted).find("ka.conf:2: 'script': keepalived runs only /usr/bin/check and ignores a b; to pass "
                                    "arguments, quote the whole command: script \"/usr/bin/check a b\""),
              std::string::npos)
        << errors(unquoted);
    auto user = of(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    notify_backup /usr/local/bin/backup nobody
    virtual_ipaddress {
        192.0.2.10
    }
}
)");
    EXPECT_NE(errors(user).find("ka.conf:4: 'notify_backup': keepalived runs it as 'nobody'; lvsd runs notify commands as root"),
              std::string::npos)
        << errors(user);
    auto unclosed = of("vrrp_script chk {\n    script \\\"/usr/bin/check a\\\"\n}\n");
    EXPECT_NE(errors(unclosed).find("ka.conf:2: 'script': '\"/usr/bin/check': no closing \""), std::string::npos)
        << errors(unclosed);
}

}  // namespace
}  // namespace lvsd::config::keepalived
