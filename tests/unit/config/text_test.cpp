#include <gtest/gtest.h>

#include "config/detail/text.hpp"

using namespace lvsd::config::detail;

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
    EXPECT_EQ(edit_distance("priority", "priority"), 0u);
    EXPECT_EQ(edit_distance("prority", "priority"), 1u);   // deletion
    EXPECT_EQ(edit_distance("priorrity", "priority"), 1u); // insertion
    EXPECT_EQ(edit_distance("priorjty", "priority"), 1u);  // substitution
    EXPECT_EQ(edit_distance("priortiy", "priority"), 1u);  // transposition
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Nearest, SuggestsCloseNamesOnly) {
    const std::vector<std::string_view> keys = {"priority", "port", "ops", "virtual_router_id", "TCP_CHECK"};
    EXPECT_EQ(nearest("prority", keys), "priority");
    EXPECT_EQ(nearest("virtual_router", keys), "virtual_router_id");  // 3 edits in 14 characters
    EXPECT_EQ(nearest("tcp_check", keys), "TCP_CHECK");               // case only
    EXPECT_EQ(nearest("colour", keys), std::nullopt);
    EXPECT_EQ(nearest("opts", keys), "ops");
    EXPECT_EQ(nearest("pots", keys), std::nullopt);  // 2 edits from "port": too far for a short word
}

TEST(SplitCommand, SplitsLikeAShellWithoutExpanding) {
    using V = std::vector<std::string>;
    EXPECT_EQ(split_command("/bin/x a  b"), (V{"/bin/x", "a", "b"}));
    EXPECT_EQ(split_command("/bin/x 'a b' \"c d\" e\\ f"), (V{"/bin/x", "a b", "c d", "e f"}));
    EXPECT_EQ(split_command("/bin/x '$HOME' \"\""), (V{"/bin/x", "$HOME", ""}));
    EXPECT_EQ(split_command("   "), V{});
    EXPECT_EQ(split_command("/bin/x 'open"), std::nullopt);
    EXPECT_EQ(split_command("/bin/x \"open"), std::nullopt);
}

TEST(FindWideIntegers, FindsDecimalsBeyond32BitsOutsideStringsAndComments) {
    const auto found = find_wide_integers(
        "a = 2147483647;\n"          // fits
        "b = 2147483648;\n"          // does not
        "c = -2147483648;\n"         // fits (negative limit)
        "d = -2147483649;\n"         // does not
        "e = 5000000000L;\n"         // 64-bit on purpose
        "f = 5000000000.0;\n"        // a float
        "g = \"5000000000\";\n"      // a string
        "# h = 5000000000;\n"        // a comment
        "/* i = 5000000000;\n*/\n"   // a block comment over two lines
        "j = 0x1FFFFFFFF;\n"         // hex beyond 32 bits
        "k = 0xFFFFFFFF;\n"          // hex that fits
        "l = 1e10;\n"                // a float
        "eth5000000000 = 1;\n"       // digits inside a name
        "m = 00000000001;\n");       // leading zeros
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0].line, 2);
    EXPECT_EQ(found[0].literal, "2147483648");
    EXPECT_EQ(found[1].line, 4);
    EXPECT_EQ(found[1].literal, "-2147483649");
    EXPECT_EQ(found[2].line, 11);
    EXPECT_EQ(found[2].literal, "0x1FFFFFFFF");
    // The values libconfig 1.5 reads instead (measured against libconfig++ 1.5).
    EXPECT_EQ(found[0].wrapped, -2147483647 - 1);
    EXPECT_EQ(found[1].wrapped, 2147483647);
    EXPECT_EQ(found[2].wrapped, -1);
    EXPECT_EQ(find_wide_integers("a = 5000000000;")[0].wrapped, 705032704);
    EXPECT_EQ(find_wide_integers("a = 99999999999999999999;")[0].wrapped, -1);  // saturated first
}

TEST(NeedsShell, OnlyWhatAShellAloneGivesMeaning) {
    EXPECT_FALSE(needs_shell("/bin/check 192.0.2.21 8080"));
    EXPECT_FALSE(needs_shell("/bin/check 'a | b' \"c; d\" e\\|f"));  // quoted or escaped: plain words
    EXPECT_FALSE(needs_shell("/bin/check --opt=1 a#b"));           // '=' after the command, '#' inside a word
    EXPECT_TRUE(needs_shell("/bin/check | grep ok"));
    EXPECT_TRUE(needs_shell("/bin/a && /bin/b"));
    EXPECT_TRUE(needs_shell("/bin/a; /bin/b"));
    EXPECT_TRUE(needs_shell("/bin/a > /dev/null"));
    EXPECT_TRUE(needs_shell("/bin/a $HOME"));
    EXPECT_TRUE(needs_shell("/bin/a \"$HOME\""));  // expanded inside double quotes
    EXPECT_FALSE(needs_shell("/bin/a '$HOME'"));   // not inside single quotes
    EXPECT_TRUE(needs_shell("/bin/a `id`"));
    EXPECT_TRUE(needs_shell("/bin/a /tmp/*.txt"));
    EXPECT_TRUE(needs_shell("/bin/a ~/x"));
    EXPECT_TRUE(needs_shell("/bin/a # comment"));
    EXPECT_TRUE(needs_shell("LANG=C /bin/a"));
}
