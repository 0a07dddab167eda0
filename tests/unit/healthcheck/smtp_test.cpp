// SMTP_CHECK's pure part: replies read from byte strings (single and multi-line, split
// anywhere, wrong codes, garbage, oversize) and the dialogue's commands and verdicts.
#include <gtest/gtest.h>

#include <string>

#include "healthcheck/check.hpp"
#include "healthcheck/smtp.hpp"

using namespace lvsd::healthcheck;
using Progress = SmtpReplyReader::Progress;

namespace {

// Feeds `bytes` in pieces of `step` bytes; returns the last progress.
Progress feed_in_steps(SmtpReplyReader& r, std::string_view bytes, std::size_t step) {
    Progress p = Progress::NeedMore;
    for (std::size_t i = 0; i < bytes.size(); i += step) p = r.feed(bytes.substr(i, step));
    return p;
}

// A session driven with whole replies; returns the commands it wrote, in order.
std::string converse(SmtpSession& s, std::initializer_list<std::string_view> replies) {
    std::string sent;
    for (auto r : replies) {
        s.feed(r);
        sent += s.take_send();
    }
    return sent;
}

}  // namespace

TEST(SmtpReply, OneLine) {
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("220 mx.example.test ESMTP ready\r\n"), Progress::Complete);
    EXPECT_EQ(r.code(), 220u);
    EXPECT_EQ(r.text(), "mx.example.test ESMTP ready");
    EXPECT_EQ(r.take_rest(), "");
}

TEST(SmtpReply, CodeAloneAndBareLf) {
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("250\n"), Progress::Complete);  // RFC 5321: the text is optional
    EXPECT_EQ(r.code(), 250u);
    EXPECT_EQ(r.text(), "");
}

TEST(SmtpReply, MultiLineEndsAtTheLineWithASpace) {
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("220-mx.example.test first\r\n"), Progress::NeedMore);
    EXPECT_EQ(r.feed("220-second\r\n220"), Progress::NeedMore);
    EXPECT_EQ(r.feed(" last\r\nQUIT?"), Progress::Complete);
    EXPECT_EQ(r.code(), 220u);
    EXPECT_EQ(r.text(), "mx.example.test first");
    EXPECT_EQ(r.take_rest(), "QUIT?");  // what came after the reply is not part of it
}

TEST(SmtpReply, SplitAtEveryByteReadsTheSame) {
    const std::string reply = "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
    for (std::size_t step : {1u, 2u, 3u, 5u, 7u, 64u}) {
        SmtpReplyReader r;
        EXPECT_EQ(feed_in_steps(r, reply, step), Progress::Complete) << step;
        EXPECT_EQ(r.code(), 250u);
        EXPECT_EQ(r.text(), "mx.example.test");
    }
    // Split between CR and LF: not complete until the LF comes.
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("221 bye\r"), Progress::NeedMore);
    EXPECT_EQ(r.feed("\n"), Progress::Complete);
}

TEST(SmtpReply, GarbageIsMalformed) {
    for (std::string_view bad : {"HTTP/1.1 400 Bad Request\r\n", "\r\n", "22 short\r\n", "2200 four digits\r\n",
                                 "220_under\r\n", "abc\n"}) {
        SmtpReplyReader r;
        EXPECT_EQ(r.feed(bad), Progress::Malformed) << bad;
        EXPECT_NE(r.error().find("a line without a reply code"), std::string::npos) << r.error();
    }
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("600 beyond\r\n"), Progress::Malformed);
    EXPECT_EQ(r.error(), "is malformed: 600 is not an SMTP reply code");
    SmtpReplyReader second_digit;
    EXPECT_EQ(second_digit.feed("260 x\r\n"), Progress::Malformed);
    // Once malformed, it stays so.
    EXPECT_EQ(r.feed("220 ok\r\n"), Progress::Malformed);
}

TEST(SmtpReply, LinesOfOneReplyShareTheCode) {
    SmtpReplyReader r;
    EXPECT_EQ(r.feed("250-a\r\n550 b\r\n"), Progress::Malformed);
    EXPECT_EQ(r.error(), "is malformed: a line with code 550 in a reply of code 250");
}

TEST(SmtpReply, ControlBytesInTheTextAreShownAsQuestionMarks) {
    SmtpReplyReader r;
    EXPECT_EQ(r.feed(std::string("220 a\x01\x7f" "b\r\n")), Progress::Complete);
    EXPECT_EQ(r.text(), "a??b");
    SmtpReplyReader l;
    EXPECT_EQ(l.feed("554 " + std::string(200, 'x') + "\r\n"), Progress::Complete);
    EXPECT_EQ(l.text(), std::string(80, 'x') + "...");
}

TEST(SmtpReply, CappedAt4KiBWithOrWithoutLineEnds) {
    // Continuation lines that never end the reply.
    SmtpReplyReader lines;
    Progress p = Progress::NeedMore;
    const std::string line = "250-" + std::string(94, 'x') + "\r\n";  // 100 bytes
    for (int i = 0; i < 40 && p == Progress::NeedMore; ++i) p = lines.feed(line);
    EXPECT_EQ(p, Progress::NeedMore);  // 4000 bytes: still within
    EXPECT_EQ(lines.feed(line), Progress::Malformed);
    EXPECT_EQ(lines.error(), "is longer than 4096 bytes");
    // One endless line, cut off before any LF.
    SmtpReplyReader endless;
    EXPECT_EQ(endless.feed("220 " + std::string(4092, 'y')), Progress::NeedMore);  // exactly 4096
    EXPECT_EQ(endless.feed("y"), Progress::Malformed);
    // A reply of exactly 4096 bytes is accepted.
    SmtpReplyReader exact;
    EXPECT_EQ(exact.feed("220 " + std::string(4090, 'z') + "\r\n"), Progress::Complete);
}

TEST(SmtpSession, GoodDialogue) {
    SmtpSession s("lb1.example.test");
    EXPECT_EQ(s.waiting_for(), "greeting");
    EXPECT_EQ(s.take_send(), "");  // the server speaks first
    EXPECT_EQ(converse(s, {"220 mx ESMTP\r\n"}), "HELO lb1.example.test\r\n");
    EXPECT_EQ(s.waiting_for(), "reply to HELO");
    EXPECT_EQ(converse(s, {"250 mx hello\r\n"}), "QUIT\r\n");
    EXPECT_EQ(s.waiting_for(), "reply to QUIT");
    EXPECT_FALSE(s.done());
    converse(s, {"221 2.0.0 bye\r\n"});
    EXPECT_TRUE(s.done());
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.reason(), "SMTP 220 greeting, 250 to HELO, 221 to QUIT");
}

TEST(SmtpSession, MultiLineGreetingAndRepliesSplitAcrossReads) {
    SmtpSession s{std::string(kDefaultHeloName)};
    const std::string server = "220-mx.example.test\r\n220 ESMTP\r\n";
    std::string sent;
    for (char c : server) {
        s.feed(std::string_view(&c, 1));
        sent += s.take_send();
    }
    EXPECT_EQ(sent, "HELO smtpchecker.keepalived.org\r\n");
    sent = converse(s, {"250-mx", ".example.test\r\n250", " ok\r\n"});
    EXPECT_EQ(sent, "QUIT\r\n");
    converse(s, {"22", "1 bye\r\n"});
    EXPECT_TRUE(s.ok()) << s.reason();
}

TEST(SmtpSession, WrongCodesFail) {
    SmtpSession greeting("h");
    EXPECT_EQ(converse(greeting, {"554 no service here\r\n"}), "");  // nothing more is sent
    EXPECT_TRUE(greeting.done());
    EXPECT_FALSE(greeting.ok());
    EXPECT_EQ(greeting.reason(), "SMTP greeting 554, expected 220: no service here");

    SmtpSession helo("h");
    converse(helo, {"220 hi\r\n", "501 syntax\r\n"});
    EXPECT_FALSE(helo.ok());
    EXPECT_EQ(helo.reason(), "SMTP 501 to HELO, expected 250: syntax");

    SmtpSession quit("h");
    converse(quit, {"220 hi\r\n", "250 ok\r\n", "250\r\n"});
    EXPECT_FALSE(quit.ok());
    EXPECT_EQ(quit.reason(), "SMTP 250 to QUIT, expected 221");
}

TEST(SmtpSession, MalformedOversizeAndClosedFail) {
    SmtpSession http("h");
    http.feed("HTTP/1.1 400 Bad Request\r\n");
    EXPECT_FALSE(http.ok());
    EXPECT_EQ(http.reason(), "SMTP: greeting is malformed: a line without a reply code: \"HTTP/1.1 400 Bad Request\"");

    SmtpSession big("h");
    converse(big, {"220 hi\r\n"});
    big.feed(std::string(5000, 'x'));
    EXPECT_TRUE(big.done());
    EXPECT_EQ(big.reason(), "SMTP: reply to HELO is longer than 4096 bytes");

    SmtpSession closed("h");
    converse(closed, {"220 hi\r\n", "250 ok\r\n", "221"});  // cut in the middle of the line
    closed.closed();
    EXPECT_FALSE(closed.ok());
    EXPECT_EQ(closed.reason(), "SMTP: connection closed by the server before the reply to QUIT");
}

TEST(SmtpSession, AServerTalkingOutOfTurnFails) {
    // Bytes that come with the greeting were sent before HELO could have been read: the
    // "250" cannot be the reply to it.
    SmtpSession s("h");
    s.feed("220 hi\r\n250 ok\r\n");
    EXPECT_TRUE(s.done());
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.take_send(), "");  // HELO is not sent after all
    EXPECT_EQ(s.reason(), "SMTP: 8 bytes after the greeting, before lvsd's next command: \"250 ok??\"");
    // After the last reply nothing more is needed: what follows does not matter.
    SmtpSession last("h");
    converse(last, {"220 hi\r\n", "250 ok\r\n", "221 bye\r\nextra"});
    EXPECT_TRUE(last.ok()) << last.reason();
}

TEST(SmtpHelo, NamesThatCanFollowHelo) {
    EXPECT_TRUE(valid_helo_name("lb1.example.test"));
    EXPECT_TRUE(valid_helo_name("[192.0.2.1]"));  // an address literal (RFC 5321 section 4.1.3)
    EXPECT_TRUE(valid_helo_name(kDefaultHeloName));
    EXPECT_TRUE(valid_helo_name(std::string(255, 'a')));
    EXPECT_FALSE(valid_helo_name(std::string(256, 'a')));
    EXPECT_FALSE(valid_helo_name(""));
    EXPECT_FALSE(valid_helo_name("a b"));
    EXPECT_FALSE(valid_helo_name("a\r\nMAIL FROM:<x>"));  // no second command smuggled in
}

TEST(SmtpCheckSpec, ValidatesHeloNameAndKeysOnIt) {
    CheckSpec s;
    s.type = CheckType::Smtp;
    s.address = *lvsd::parse_address("192.0.2.25");
    s.port = 25;
    EXPECT_TRUE(validate(s));
    EXPECT_EQ(to_string(s.type), "SMTP_CHECK");
    const auto key = check_key(s);
    EXPECT_NE(key.find("helo=\"smtpchecker.keepalived.org\""), std::string::npos) << key;
    auto other = s;
    other.helo_name = "lb1.example.test";
    EXPECT_NE(check_key(other), key);
    EXPECT_EQ(probe_identity(other), probe_identity(s));  // a setting: the verdict is kept
    other.helo_name = "bad name";
    EXPECT_FALSE(validate(other));
    auto tcp = s;
    tcp.type = CheckType::Tcp;
    tcp.helo_name = "lb1.example.test";
    ASSERT_FALSE(validate(tcp));
    EXPECT_NE(validate(tcp).error().message.find("helo_name is only for SMTP_CHECK"), std::string::npos);
}
