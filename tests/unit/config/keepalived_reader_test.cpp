// The keepalived reader against keepalived 2.2.7's own reading (lib/parser.c, and the
// real binary's -d dump for the cases marked "keepalived:"). Small inline texts; the
// include, hostile-input and corpus tests are in keepalived_reader_files_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>

#include "keepalived_test_util.hpp"

using namespace lvsd::config::keepalived;
using ka_test::dump;
using ka_test::messages;

namespace {

ReadResult read(std::string_view text, const std::string& host = "h1") {
    ReadOptions o;
    o.host_name = host;
    return read_string(text, "t.conf", o);
}

std::string tree(std::string_view text, const std::string& host = "h1") {
    auto r = read(text, host);
    EXPECT_TRUE(r.ok()) << messages(r.errors);
    return dump(r.statements);
}

}  // namespace

TEST(KeepalivedReader, KeywordsArgumentsAndBlocks) {
    EXPECT_EQ(tree("global_defs {\n  router_id lb1\n}\n"), "global_defs{router_id(lb1)}");
    // `{` on the next line, after a blank and a comment line too.
    EXPECT_EQ(tree("vrrp_instance VI_1\n{\n state MASTER\n}\n"), "vrrp_instance(VI_1){state(MASTER)}");
    EXPECT_EQ(tree("a\n\n# c\n{\n b\n}\n"), "a{b}");
    EXPECT_EQ(tree("a {\n b {\n  c 1 2\n }\n d\n}\ne\n"), "a{b{c(1,2)};d};e");
    EXPECT_EQ(tree("a {\n}\n"), "a{}");
    // Tabs, CR LF line ends, form feeds are blanks.
    EXPECT_EQ(tree("\ta\t1 \r\n b\f2\r\n"), "a(1);b(2)");
    // A line that is only blanks is skipped, as keepalived skips it.
    EXPECT_EQ(tree("   \n\t\na\n"), "a");
}

TEST(KeepalivedReader, LineNumbersAndFile) {
    auto r = read("a {\n\n  b 1\n}\nc\n");
    ASSERT_TRUE(r.ok()) << messages(r.errors);
    ASSERT_EQ(r.statements.size(), 2u);
    EXPECT_EQ(r.statements[0].line, 1);
    EXPECT_EQ(r.statements[0].children[0].line, 3);
    EXPECT_EQ(r.statements[1].line, 5);
    EXPECT_EQ(r.statements[1].file, "t.conf");
}

TEST(KeepalivedReader, Comments) {
    EXPECT_EQ(tree("! a comment\n# another\na 1 # trailing\nb 2 ! trailing\n"), "a(1);b(2)");
    // Anywhere outside quotes, also inside a word.
    EXPECT_EQ(tree("a 1#2\n"), "a(1)");
    EXPECT_EQ(tree("notify \"/bin/x.sh #1 !\" x\n"), "notify(/bin/x.sh #1 !,x)");
    // `\#` and `\!` escape a comment only in keepalived's parent process; its VRRP and
    // checker processes read the parent's decommented copy, where `x#y` is a comment
    // (keepalived: `vrrp_instance VI\#1 {` makes an instance "VI" without a block).
    auto r = read("a x\\#y \\!z\n");
    EXPECT_EQ(dump(r.statements), "a(x)");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].message.find("VRRP and checker processes"), std::string::npos);
    // At the start of a line they take it for a file marker of that copy.
    EXPECT_FALSE(read("\\#x\n").ok());
}

TEST(KeepalivedReader, QuotedStrings) {
    EXPECT_EQ(tree("script \"/usr/bin/check --a b\"\n"), "script(/usr/bin/check --a b)");
    EXPECT_EQ(tree("a \"\" b\n"), "a(,b)");
    // A quote also ends an unquoted word (alloc_strvec_r).
    EXPECT_EQ(tree("a x\"y z\"\n"), "a(x,y z)");
    // Braces inside quotes do not split the line.
    EXPECT_EQ(tree("a \"{ x }\" {\n b\n}\n"), "a({ x }){b}");
}

TEST(KeepalivedReader, UnterminatedQuoteIsAnError) {
    auto r = read("a {\n  script \"/bin/x\n}\n");
    EXPECT_FALSE(r.ok());
    EXPECT_NE(messages(r.errors).find("t.conf:2: unterminated quote"), std::string::npos) << messages(r.errors);
}

TEST(KeepalivedReader, BracesSplitALineAsKeepalivedDoes) {
    // keepalived (checked with the binary): the line is split at braces only, so the two
    // keywords inside stay one statement and auth_pass is never set ("Authentication
    // specified but no password given").
    EXPECT_EQ(tree("authentication { auth_type PASS auth_pass x }\n"), "authentication{auth_type(PASS,auth_pass,x)}");
    EXPECT_EQ(tree("track_script { chk }\n"), "track_script{chk}");
    EXPECT_EQ(tree("virtual_ipaddress { 192.0.2.1/24 dev eth0 }\n"), "virtual_ipaddress{192.0.2.1/24(dev,eth0)}");
    EXPECT_EQ(tree("a { b { c } }\n"), "a{b{c}}");
    EXPECT_EQ(tree("a {\n b\n} c {\n}\n"), "a{b};c{}");
    EXPECT_EQ(tree("a{b}\n"), "a{b}");
    // Every piece keeps the line of its physical line.
    auto r = read("x\na { b }\n");
    ASSERT_EQ(r.statements.size(), 2u);
    EXPECT_EQ(r.statements[1].children[0].line, 2);
}

TEST(KeepalivedReader, UnbalancedBraces) {
    auto extra = read("a {\n}\n}\n");
    ASSERT_EQ(extra.errors.size(), 1u) << messages(extra.errors);
    EXPECT_EQ(extra.errors[0].file, "t.conf");
    EXPECT_EQ(extra.errors[0].line, 3);
    EXPECT_NE(extra.errors[0].message.find("Extra '}'"), std::string::npos);

    // A block still open at the end: the error names the line that opened it.
    auto open = read("a {\n}\nvrrp_instance VI_2 {\n  b {\n  }\n");
    ASSERT_EQ(open.errors.size(), 1u) << messages(open.errors);
    EXPECT_EQ(open.errors[0].line, 3);
    EXPECT_NE(open.errors[0].message.find("vrrp_instance"), std::string::npos);
    EXPECT_NE(open.errors[0].message.find("not closed"), std::string::npos);

    auto stray = read("{\n}\n");
    EXPECT_FALSE(stray.ok());
    EXPECT_EQ(stray.errors[0].line, 1);
    EXPECT_NE(stray.errors[0].message.find("'{' does not follow a statement"), std::string::npos);
}

TEST(KeepalivedReader, Definitions) {
    EXPECT_EQ(tree("$IF=eth0\ninterface $IF\n"), "interface(eth0)");
    EXPECT_EQ(tree("$IP=192.0.2.1\na ${IP}/24\n"), "a(192.0.2.1/24)");
    // `$NAME` must be followed by a blank, `,`, `)` or the end; `${NAME}` anywhere.
    EXPECT_EQ(tree("$IP=192.0.2.1\na $IP/24\n"), "a($IP/24)");
    // Replaced inside quotes too, and the value may hold blanks.
    EXPECT_EQ(tree("$ARGS=--a b\nscript \"/bin/x ${ARGS}\"\n"), "script(/bin/x --a b)");
    // A definition may use another; a later definition replaces an earlier one.
    EXPECT_EQ(tree("$A=1\n$B=x${A}\na $B\n$A=2\nb ${A}\n"), "a(x1);b(2)");
    // Unknown names stay as they are; no blank before `=` means no definition.
    EXPECT_EQ(tree("a $NOPE\n$X =1\n"), "a($NOPE);$X(=1)");
    // Standard definitions.
    EXPECT_EQ(tree("a ${_HASH}x ${_BANG}\n"), "a");  // keepalived decomments after expanding
    EXPECT_EQ(tree("a \"${_HASH}\" ${_INSTANCE}\n", "lb7"), "a(#,lb7)");
}

TEST(KeepalivedReader, MultiLineDefinitions) {
    // keepalived (checked with the binary): priority 77 and advert_int 3 both land.
    EXPECT_EQ(tree("$ML=priority 77 \\\n   advert_int 3\nv {\n  $ML\n}\n"), "v{priority(77);advert_int(3)}");
    // An empty line ends the definition, and so does a comment line or a line of blanks
    // for keepalived's VRRP and checker processes (keepalived: VIPs after a comment line
    // are "Unknown keyword"s).
    EXPECT_EQ(tree("$ML=a \\\nb \\\nc\nv {\n$ML\n}\n"), "v{a;b;c}");
    EXPECT_EQ(tree("$ML=a \\\n# c\nb \\\n\nv {\n$ML\n}\n"), "b\\;v{a}");
    EXPECT_EQ(tree("$ML=a \\\n  \nb\nv {\n$ML\n}\n"), "b;v{a}");
    // Only at the end of a line: in the middle it is not replaced.
    EXPECT_EQ(tree("$ML=a \\\nb\nx $ML y\n"), "x($ML,y)");
    // Several uses; a multi-line definition inside one.
    EXPECT_EQ(tree("$IN=i1 \\\ni2\n$OUT=o1 \\\n$IN\nv {\n$OUT\n$OUT\n}\n"), "v{o1;i1;i2;o1;i1;i2}");
}

TEST(KeepalivedReader, SelfReferenceIsBounded) {
    // keepalived rescans the replaced text and never ends on this.
    auto r = read("$A=x $A\na $A\nb\n");
    EXPECT_FALSE(r.ok());
    EXPECT_NE(messages(r.errors).find("t.conf:2: more than 64 definition expansions"), std::string::npos)
        << messages(r.errors);
    EXPECT_EQ(dump(r.statements), "b");  // the line is dropped, reading goes on
}

TEST(KeepalivedReader, ConditionalLines) {
    const char* text = "v {\n@nfs1 priority 101\n@nfs2 priority 100\n@^nfs1 nopreempt\n}\n";
    EXPECT_EQ(tree(text, "nfs1"), "v{priority(101)}");
    EXPECT_EQ(tree(text, "nfs2"), "v{priority(100);nopreempt}");
    EXPECT_EQ(tree(text, "other"), "v{nopreempt}");
    // `@NAME` alone is dropped whatever the name; a condition may guard a whole block line.
    EXPECT_EQ(tree("@h1\n@h1 a {\nb\n}\n", "h1"), "a{b}");
    // No name given: the host name up to its first '.', as keepalived's default config id.
    char host[HOST_NAME_MAX + 1] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    const std::string shortname = std::string(host).substr(0, std::string(host).find('.'));
    EXPECT_EQ(tree("@" + shortname + " a\n@^" + shortname + " b\n", ""), "a");
    // A definition can make a conditional line.
    EXPECT_EQ(tree("$ME=@h1\n$ME x\n", "h1"), "x");
}

TEST(KeepalivedReader, Sequences) {
    EXPECT_EQ(tree("~SEQ(i, 3) real_server 192.0.2.$i 80\n"),
              "real_server(192.0.2.1,80);real_server(192.0.2.2,80);real_server(192.0.2.3,80)");
    EXPECT_EQ(tree("~SEQ(i, 10, 5, 20) p $i\n"), "p(10);p(15);p(20)");
    EXPECT_EQ(tree("~SEQ(i, 3, 1) p $i\n"), "p(3);p(2);p(1)");
    EXPECT_EQ(tree("~SEQx(i, 9, 11) a 2001:db8::${i}\n"), "a(2001:db8::9);a(2001:db8::a);a(2001:db8::b)");
    // Nested: the text of one ~SEQ may be another.
    EXPECT_EQ(tree("~SEQ(i, 2) ~SEQ(j, 2) p $i $j\n"), "p(1,1);p(1,2);p(2,1);p(2,2)");
    // Definitions in the parameters.
    EXPECT_EQ(tree("$N=2\n~SEQ(i, $N) p $i\n"), "p(1);p(2)");
    auto bad = read("~SEQ(i, 1, 0, 5) p\n~SEQ i\n~LST({a}, {1, 2}) p $a\n");
    ASSERT_EQ(bad.errors.size(), 4u) << messages(bad.errors);  // ~LST: what, then where (as keepalived)
    EXPECT_EQ(bad.errors[0].line, 1);
    EXPECT_NE(bad.errors[2].message.find("more values than there are variables"), std::string::npos);
}

TEST(KeepalivedReader, Lists) {
    EXPECT_EQ(tree("~LST(ip, 192.0.2.1, 192.0.2.7) real_server $ip 80\n"),
              "real_server(192.0.2.1,80);real_server(192.0.2.7,80)");
    EXPECT_EQ(tree("~LST({ip, w}, {192.0.2.1, 3}, {192.0.2.2}) rs $ip ${w}x\n"), "rs(192.0.2.1,3x);rs(192.0.2.2,x)");
    // Inside a ~SEQ.
    EXPECT_EQ(tree("~SEQ(i, 2) ~LST(p, 80, 443) vs 192.0.2.$i $p\n"),
              "vs(192.0.2.1,80);vs(192.0.2.1,443);vs(192.0.2.2,80);vs(192.0.2.2,443)");
    // keepalived (checked with the binary): `$i$p` replaces only `$p` (a `$NAME` must
    // end at a blank, `,`, `)` or the end of the line), and a missing value is empty.
    EXPECT_EQ(tree("~SEQ(i, 1) ~LST(p, 5) a 192.0.2.$i$p\n"), "a(192.0.2.$i5)");
    EXPECT_EQ(tree("~LST({ip, m}, {192.0.2.2}) a ${ip}/${m}\n"), "a(192.0.2.2/)");
}

TEST(KeepalivedReader, CommentsAttachToStatements) {
    auto r = read(
        "# file header\n"
        "\n"
        "# the instance\n"
        "# second line\n"
        "vrrp_instance VI_1 { # opening\n"
        "  priority 100 # the master\n"
        "  # left at the end\n"
        "} # closing\n");
    ASSERT_TRUE(r.ok()) << messages(r.errors);
    ASSERT_EQ(r.statements.size(), 1u);
    const auto& vi = r.statements[0];
    EXPECT_EQ(vi.comments, (std::vector<std::string>{"the instance", "second line", "opening"}));
    ASSERT_EQ(vi.children.size(), 1u);
    EXPECT_EQ(vi.children[0].comments, (std::vector<std::string>{"the master"}));
    ASSERT_EQ(r.unattached_comments.size(), 3u);
    EXPECT_EQ(r.unattached_comments[0].text, "file header");
    EXPECT_EQ(r.unattached_comments[0].line, 1);
    EXPECT_EQ(r.unattached_comments[1].text, "left at the end");
    EXPECT_EQ(r.unattached_comments[2].text, "closing");
    EXPECT_EQ(r.unattached_comments[2].line, 8);
}

TEST(KeepalivedReader, CommentsAcrossDroppedConditionalLines) {
    auto r = read("v {\n  # priority of this node\n@nfs1 priority 101\n@nfs2 priority 100\n}\n", "nfs2");
    ASSERT_EQ(r.statements.at(0).children.size(), 1u);
    EXPECT_EQ(r.statements[0].children[0].comments, std::vector<std::string>{"priority of this node"});
}

TEST(KeepalivedReader, LongLinesAndNulBytes) {
    // keepalived reads 1022 characters per line at most and the rest as a new line.
    auto ok = read("a " + std::string(1020, 'x') + "\n");
    EXPECT_TRUE(ok.ok()) << messages(ok.errors);
    auto longer = read("a " + std::string(1021, 'x') + " b\n");
    ASSERT_EQ(longer.errors.size(), 1u) << messages(longer.errors);
    EXPECT_NE(longer.errors[0].message.find("in pieces of 1023 characters"), std::string::npos);
    EXPECT_EQ(dump(longer.statements), "a(" + std::string(1021, 'x') + ");b");

    auto nul = read(std::string("a 1\0 2\nb\n", 9));
    ASSERT_EQ(nul.errors.size(), 1u);
    EXPECT_EQ(nul.errors[0].line, 1);
    EXPECT_EQ(dump(nul.statements), "a(1);b");
}

TEST(KeepalivedReader, ExpansionBeyondTheLineLimit) {
    auto r = read("$L=" + std::string(600, 'x') + "\na ${L} ${L}\n");
    EXPECT_FALSE(r.ok());
    EXPECT_NE(messages(r.errors).find("t.conf:2: expanding $L makes the line longer"), std::string::npos)
        << messages(r.errors);
}

TEST(KeepalivedReader, BlockDepthLimit) {
    ReadOptions o;
    o.host_name = "h";
    o.max_block_depth = 3;
    EXPECT_TRUE(read_string("a {\nb {\nc {\n}\n}\n}\n", "t.conf", o).ok());
    auto r = read_string("a {\nb {\nc {\nd {\n}\n}\n}\n}\n", "t.conf", o);
    ASSERT_EQ(r.errors.size(), 1u) << messages(r.errors);
    EXPECT_EQ(r.errors[0].line, 4);
    EXPECT_NE(r.errors[0].message.find("nested more than 3 deep"), std::string::npos);
}
