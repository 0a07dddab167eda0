// The Markdown subset of the README, rendered as roff.
#include <gtest/gtest.h>

#include "man/markdown.hpp"

using namespace lvsd::man;

TEST(Markdown, InlineSpansAndEscapes) {
    EXPECT_EQ(inline_roff("run `lvsd -t` **now**, *really*"), "run \\fBlvsd \\-t\\fR \\fBnow\\fR, \\fIreally\\fR");
    EXPECT_EQ(inline_roff("a\\b"), "a\\eb");
    EXPECT_EQ(inline_roff("[libconfig](https://x.invalid/)"), "libconfig <https://x.invalid/>");
    EXPECT_EQ(inline_roff("3 * 4 and `*_CHECK`"), "3 * 4 and \\fB*_CHECK\\fR");
    EXPECT_EQ(inline_roff("**bold `code` bold**"), "\\fBbold \\fBcode\\fB bold\\fR");
}

TEST(Markdown, BlocksBecomeRequests) {
    const Lines md = {"## Title",       "",
                      "A paragraph",    "over `two",
                      "lines` here.",   "",
                      "- an item",      "  continued",
                      "1. first",       "",
                      "```",            ".starts with a dot -x",
                      "```",            "",
                      "| key | type | meaning |", "| --- | --- | --- |",
                      "| `a` | int | what \\| a |", "| `b` | | no type |",
                      "#### Deeper \"quoted\""};
    EXPECT_EQ(to_roff(md, 2),
              ".SH Title\n"
              ".PP\nA paragraph over \\fBtwo lines\\fR here.\n"
              ".IP \\(bu 2\nan item continued\n"
              ".IP 1. 4\nfirst\n"
              ".PP\n.RS 4\n.nf\n\\&.starts with a dot \\-x\n.fi\n.RE\n"
              ".TP\n\\fBa\\fR\ntype: int\n.br\nwhat | a\n"
              ".TP\n\\fBb\\fR\nno type\n"
              ".SS Deeper \\(dqquoted\\(dq\n");
}

TEST(Markdown, SectionEndsAtTheNextHeadingOfItsLevelAndSkipsCode) {
    const Lines doc = {"## A", "x", "```", "## not a heading", "```", "### A.1", "y", "## B", "z"};
    auto a = section(doc, "A", "R.md");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, (Lines{"x", "```", "## not a heading", "```", "### A.1", "y"}));
    EXPECT_FALSE(section(doc, "C", "R.md").ok());
}

TEST(Markdown, RoffToTextIsWhatAReaderSees) {
    EXPECT_EQ(roff_to_text(".SH OPTIONS\n.TP\n\\fB\\-f\\fR, \\fB\\-\\-config\\fR\n\\&.x \\ea\n"),
              "OPTIONS\n-f, --config\n.x \\a\n");
}
