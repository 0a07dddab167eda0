// The keepalived reader with real files: includes (checked against keepalived 2.2.7:
// nested includes resolve against the including file's directory, matches in sorted
// order), the limits against hostile input, and the 60-file corpus.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "keepalived_test_util.hpp"

using namespace lvsd::config::keepalived;
using ka_test::dump;
using ka_test::messages;
using ka_test::TempDir;

namespace {

ReadOptions opts(const std::string& host = "h1") {
    ReadOptions o;
    o.host_name = host;
    return o;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(KeepalivedReaderFiles, IncludeRelativeSortedAndNested) {
    TempDir d;
    const auto main = d.write("main.conf",
                              "vrrp_instance VI_1 {\n"
                              "  virtual_ipaddress {\n"
                              "    include sub/v*.conf\n"
                              "    192.0.2.9/32\n"
                              "  }\n"
                              "}\n");
    d.write("sub/v2.conf", "192.0.2.2/32\n");
    d.write("sub/v1.conf", "192.0.2.1/32\ninclude c.conf\n");
    d.write("sub/c.conf", "192.0.2.5/32\n");
    d.write("c.conf", "192.0.2.6/32\n");  // not this one: sub/v1.conf's directory is sub
    auto r = read_file(main, opts());
    ASSERT_TRUE(r.ok()) << messages(r.errors);
    EXPECT_EQ(dump(r.statements), "vrrp_instance(VI_1){virtual_ipaddress{192.0.2.1/32;192.0.2.5/32;192.0.2.2/32;192.0.2.9/32}}");
    const auto& vips = r.statements[0].children[0].children;
    EXPECT_EQ(vips[0].file, d.path() + "/sub/v1.conf");
    EXPECT_EQ(vips[0].line, 1);
    EXPECT_EQ(vips[1].file, d.path() + "/sub/c.conf");
    EXPECT_EQ(vips[3].file, main);
    EXPECT_EQ(vips[3].line, 4);
    EXPECT_TRUE(r.warnings.empty()) << messages(r.warnings);
}

TEST(KeepalivedReaderFiles, IncludeOfADefinitionAndAcrossBlocks) {
    TempDir d;
    // The pattern is expanded first; an included file may open a block the includer closes.
    const auto main = d.write("main.conf", "$DIR=parts\ninclude ${DIR}/*.conf\n  priority 100\n}\n");
    d.write("parts/a.conf", "vrrp_instance VI_1 {\n");
    auto r = read_file(main, opts());
    ASSERT_TRUE(r.ok()) << messages(r.errors);
    EXPECT_EQ(dump(r.statements), "vrrp_instance(VI_1){priority(100)}");
}

TEST(KeepalivedReaderFiles, MissingIncludesWarnOrFail) {
    TempDir d;
    // keepalived logs "Config files missing" and goes on; quotes are part of the pattern.
    auto plain = read_file(d.write("a.conf", "include nothere.conf\ninclude \"q.conf\"\ninclude none*.conf\nx\n"), opts());
    EXPECT_TRUE(plain.ok()) << messages(plain.errors);
    EXPECT_EQ(dump(plain.statements), "x");
    ASSERT_EQ(plain.warnings.size(), 3u) << messages(plain.warnings);
    EXPECT_EQ(plain.warnings[0].line, 1);
    EXPECT_TRUE(contains(plain.warnings[0].message, "include nothere.conf: no such file"));
    EXPECT_TRUE(contains(plain.warnings[1].message, "include \"q.conf\": no such file"));
    EXPECT_TRUE(contains(plain.warnings[2].message, "no file matches"));

    // includem / includew / includea make it an error, as does include_check.
    auto strict = read_file(d.write("b.conf", "includem nothere.conf\nincludew none*.conf\n"), opts());
    ASSERT_EQ(strict.errors.size(), 2u) << messages(strict.errors);
    EXPECT_EQ(strict.errors[1].line, 2);
    auto checked = read_file(d.write("c.conf", "global_defs {\n  include_check\n}\ninclude nothere.conf\n"), opts());
    ASSERT_EQ(checked.errors.size(), 1u) << messages(checked.errors);
    EXPECT_EQ(checked.errors[0].line, 4);
    auto bad_check = read_file(d.write("e.conf", "global_defs {\n  include_check sometimes\n}\n"), opts());
    EXPECT_FALSE(bad_check.ok());
}

TEST(KeepalivedReaderFiles, IncludedDirectoriesAndExecutablesAreSkipped) {
    TempDir d;
    d.write("dir/x.conf/inner", "a\n");
    d.write("dir/run.conf", "b\n", 0755);
    d.write("dir/ok.conf", "c\n");
    auto r = read_file(d.write("main.conf", "include dir/*\n"), opts());
    EXPECT_TRUE(r.ok()) << messages(r.errors);
    EXPECT_EQ(dump(r.statements), "c");
    EXPECT_EQ(r.warnings.size(), 2u) << messages(r.warnings);
    auto strict = read_file(d.write("strict.conf", "includer dir/*\n"), opts());
    EXPECT_EQ(strict.errors.size(), 2u) << messages(strict.errors);
    // A file that cannot be read is an error whatever the variant.
    std::filesystem::create_symlink(d.path() + "/gone.conf", d.path() + "/dir/dangling.conf");
    auto unreadable = read_file(d.write("u.conf", "include dir/*.conf\n"), opts());
    ASSERT_EQ(unreadable.errors.size(), 1u) << messages(unreadable.errors);
    EXPECT_EQ(unreadable.errors[0].line, 1);
    EXPECT_TRUE(contains(unreadable.errors[0].message, "dangling.conf cannot open")) << messages(unreadable.errors);
}

TEST(KeepalivedReaderFiles, TopFileProblems) {
    TempDir d;
    auto missing = read_file(d.path() + "/none.conf", opts());
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0].line, 0);
    EXPECT_TRUE(contains(missing.errors[0].message, "cannot open: No such file or directory"));
    // keepalived refuses a configuration file with an execute bit, and a directory.
    EXPECT_FALSE(read_file(d.write("x.conf", "a\n", 0700), opts()).ok());
    EXPECT_FALSE(read_file(d.path(), opts()).ok());
}

TEST(KeepalivedReaderFiles, IncludeLoopIsAnErrorInBoundedTime) {
    TempDir d;
    const auto a = d.write("a.conf", "include b.conf\ninclude b.conf\nx\n");
    d.write("b.conf", "include a.conf\ninclude a.conf\n");
    const auto start = ka_test::cpu_now();
    auto r = read_file(a, opts());
    EXPECT_LT(ka_test::cpu_now() - start, std::chrono::seconds(2));
    ASSERT_EQ(r.errors.size(), 1u) << messages(r.errors);
    EXPECT_TRUE(contains(r.errors[0].message, "nested more than 8 deep")) << messages(r.errors);
    EXPECT_TRUE(r.errors[0].file == a || r.errors[0].file == d.path() + "/./b.conf" ||
                contains(r.errors[0].file, "b.conf"));
}

TEST(KeepalivedReaderFiles, SizeLimits) {
    TempDir d;
    ReadOptions o = opts();
    o.max_file_bytes = 100;
    const auto big = d.write("big.conf", std::string(200, '#') + "\n");
    auto top = read_file(big, o);
    ASSERT_EQ(top.errors.size(), 1u);
    EXPECT_TRUE(contains(top.errors[0].message, "larger than 100 bytes"));
    auto inc = read_file(d.write("inc.conf", "a\ninclude big.conf\n"), o);
    ASSERT_EQ(inc.errors.size(), 1u);
    EXPECT_EQ(inc.errors[0].line, 2);

    o.max_file_bytes = 1000;
    o.max_total_bytes = 150;
    d.write("part.conf", std::string(100, 'x') + "\n");
    auto total = read_file(d.write("total.conf", "include part.conf\ninclude part.conf\n"), o);
    ASSERT_FALSE(total.ok());
    EXPECT_TRUE(contains(messages(total.errors), "more than 150 bytes")) << messages(total.errors);

    // The number of statements is bounded (memory): a ~SEQ of a million lines.
    o.max_total_bytes = 1 << 20;
    o.max_statements = 1000;
    auto count = read_string("~SEQ(i, 1000000) a $i\n", "count.conf", o);
    ASSERT_EQ(count.errors.size(), 1u) << messages(count.errors);
    EXPECT_TRUE(contains(count.errors[0].message, "more than 1000 statements"));
    EXPECT_EQ(count.statements.size(), 1000u);
    o.max_statements = ReadOptions{}.max_statements;

    // Expansion counts too: a ~SEQ of a billion lines stops at the limit.
    o.max_total_bytes = 1 << 20;
    const auto start = ka_test::cpu_now();
    auto seq = read_string("~SEQ(i, 1000000000) a $i\n", "seq.conf", o);
    EXPECT_LT(ka_test::cpu_now() - start, std::chrono::seconds(5));
    EXPECT_TRUE(contains(messages(seq.errors), "more than 1048576 bytes")) << messages(seq.errors);
}

TEST(KeepalivedReaderFiles, HostileInputEndsInAClearErrorInBoundedTime) {
    // 100k nested blocks.
    std::string nested;
    for (int i = 0; i < 100000; ++i) nested += "a {\n";
    auto t = ka_test::cpu_now();
    auto deep = read_string(nested, "deep.conf", opts());
    EXPECT_LT(ka_test::cpu_now() - t, std::chrono::seconds(2));
    ASSERT_EQ(deep.errors.size(), 1u) << messages(deep.errors);
    EXPECT_EQ(deep.errors[0].line, 33);
    // 100k `{` on one line: the same, each brace is a piece of its own.
    std::string one_line;
    for (int i = 0; i < 200; ++i) one_line += "a { ";
    deep = read_string(one_line + "\n", "deep1.conf", opts());
    ASSERT_EQ(deep.errors.size(), 1u) << messages(deep.errors);
    EXPECT_TRUE(contains(deep.errors[0].message, "nested more than 32 deep"));
    // `{` after `{` follows no statement: keepalived's "Unexpected '{'", and no more
    // than 100 errors however many there are.
    deep = read_string("a " + std::string(100000, '{') + "\n", "braces.conf", opts());
    EXPECT_TRUE(contains(messages(deep.errors), "'{' does not follow a statement"));
    EXPECT_LE(deep.errors.size(), 101u);

    // 4 MB in one line of balanced braces: read in 1023-character pieces, bounded work.
    std::string flat;
    while (flat.size() < 4000000) flat += "a {} ";
    t = ka_test::cpu_now();
    auto one = read_string(flat, "flat.conf", opts());
    EXPECT_LT(ka_test::cpu_now() - t, std::chrono::seconds(5));
    EXPECT_TRUE(contains(messages(one.errors), "flat.conf:1: line of 4000000 characters")) << messages(one.errors);

    // A 10 MB file: over the default 4 MiB limit, and read in bounded time when allowed.
    std::string ten;
    while (ten.size() < 10 * 1024 * 1024) ten += "real_server 192.0.2.1 80 {\n  weight 1\n}\n";
    t = ka_test::cpu_now();
    auto refused = read_string(ten, "ten.conf", opts());
    ASSERT_EQ(refused.errors.size(), 1u);
    EXPECT_TRUE(contains(refused.errors[0].message, "larger than 4194304 bytes"));
    ReadOptions big = opts();
    big.max_file_bytes = big.max_total_bytes = 16 * 1024 * 1024;
    big.max_statements = 1000000;
    auto read_all = read_string(ten, "ten.conf", big);
    EXPECT_TRUE(read_all.ok()) << messages(read_all.errors);
    EXPECT_GT(read_all.statements.size(), 200000u);
    EXPECT_LT(ka_test::cpu_now() - t, std::chrono::seconds(20));

    // Warnings are bounded in number too.
    std::string missing;
    for (int i = 0; i < 3000; ++i) missing += "include none" + std::to_string(i) + ".conf\n";
    auto many = read_string(missing, "many.conf", opts());
    EXPECT_TRUE(many.ok());
    ASSERT_EQ(many.warnings.size(), 1001u);
    EXPECT_TRUE(contains(many.warnings.back().message, "more than 1000 warnings"));

    // Random bytes: errors (bounded in number), never a crash, bounded time.
    std::mt19937 rng(13);
    for (int round = 0; round < 20; ++round) {
        std::string junk(64 * 1024, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        t = ka_test::cpu_now();
        auto r = read_string(junk, "junk.conf", opts());
        EXPECT_LT(ka_test::cpu_now() - t, std::chrono::seconds(2));
        EXPECT_FALSE(r.ok());
        EXPECT_LE(r.errors.size(), 101u);
    }
}

TEST(KeepalivedReaderFiles, EveryCorpusFileReads) {
    const std::filesystem::path dir = std::filesystem::path(LVSD_SOURCE_DIR) / "tests/data/keepalived_corpus";
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".conf") continue;
        ++files;
        auto r = read_file(entry.path().string(), opts("lb1"));
        EXPECT_FALSE(r.statements.empty()) << entry.path();
        if (entry.path().filename() == "55-tomcat-lvs-dr-template.conf") {
            // The original lacks the `{` after virtual_server; keepalived 2.2.7 -t says
            // "Missing '{'" at 23 (a keyword matter, for the importer) and "(Line 50)
            // Extra '}' found".
            ASSERT_EQ(r.errors.size(), 1u) << messages(r.errors);
            EXPECT_EQ(r.errors[0].line, 50);
            EXPECT_TRUE(contains(r.errors[0].message, "Extra '}'"));
            continue;
        }
        EXPECT_TRUE(r.ok()) << entry.path() << "\n" << messages(r.errors);
    }
    EXPECT_EQ(files, 60);
}

TEST(KeepalivedReaderFiles, CorpusSpotChecks) {
    const std::string dir = std::string(LVSD_SOURCE_DIR) + "/tests/data/keepalived_corpus/";
    auto priority_of = [&](const std::string& host) {
        auto r = read_file(dir + "29-nfs-conditional-conf.conf", opts(host));
        EXPECT_TRUE(r.ok()) << messages(r.errors);
        for (const auto& s : r.statements)
            if (s.keyword == "vrrp_instance")
                for (const auto& c : s.children)
                    if (c.keyword == "priority") return c.args.at(0);
        return std::string("none");
    };
    EXPECT_EQ(priority_of("nfs1"), "101");
    EXPECT_EQ(priority_of("nfs2"), "100");
    EXPECT_EQ(priority_of("nfs3"), "none");

    // 25: $NAME definitions, also inside quoted strings.
    auto r25 = read_file(dir + "25-mysql-vip-notify-fifo-params.conf", opts());
    ASSERT_TRUE(r25.ok()) << messages(r25.errors);
    const std::string t25 = dump(r25.statements);
    EXPECT_TRUE(contains(t25, "vrrp_instance(VI_MYSQL_WRITER){state(MASTER);interface(eth0);virtual_router_id(51);"
                              "priority(10)"))
        << t25;
    EXPECT_TRUE(contains(t25, "vrrp_instance(VI_MYSQL_READER){state(BACKUP);interface(eth0);virtual_router_id(52)"))
        << t25;
    EXPECT_TRUE(contains(t25, "unicast_peer{10.20.30.11}")) << t25;
    EXPECT_TRUE(contains(t25, "--max-lag 300")) << t25;
    EXPECT_FALSE(contains(t25, "$")) << t25;

    // 15: include /etc/rules/*.conf matches nothing here: keepalived is silent, a warning.
    auto r15 = read_file(dir + "15-nginx-local-address-group-include.conf", opts());
    ASSERT_TRUE(r15.ok()) << messages(r15.errors);
    ASSERT_EQ(r15.warnings.size(), 1u) << messages(r15.warnings);
    EXPECT_TRUE(contains(r15.warnings[0].message, "/etc/rules/*.conf: no file matches"));

    // 11: `auth_type PASS;` keeps its semicolon (keepalived reads "PASS;" too).
    auto r11 = read_file(dir + "11-k0s-haproxy-two-vips.conf", opts());
    EXPECT_TRUE(contains(dump(r11.statements), "authentication{auth_type(PASS;);auth_pass(secret1;)}"));
}
