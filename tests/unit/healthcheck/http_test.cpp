// The HTTP response reader: stops as soon as the verdict is known, bounded memory,
// every framing the checks meet (Content-Length, chunked, close-delimited).
#include "healthcheck/http.hpp"

#include <gtest/gtest.h>

using namespace lvsd::healthcheck;
using P = ResponseReader::Progress;

namespace {

// Feeds `text` in pieces of `step` bytes; returns the last progress.
P feed_in_pieces(ResponseReader& r, std::string_view text, std::size_t step) {
    P p = P::NeedMore;
    for (std::size_t i = 0; i < text.size() && p == P::NeedMore; i += step)
        p = r.feed(text.substr(i, step));
    return p;
}

}  // namespace

TEST(HttpRequest, IsHttp11WithHostAndClose) {
    EXPECT_EQ(build_get_request("/health", "192.0.2.21:8080"),
              "GET /health HTTP/1.1\r\nHost: 192.0.2.21:8080\r\nUser-Agent: lvsd-healthcheck\r\n"
              "Accept: */*\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(build_get_request("http://origin.example/health", "origin.example")
                    .starts_with("GET http://origin.example/health HTTP/1.1\r\nHost: origin.example\r\n"));
}

TEST(HttpResponse, WithoutANeedleTheStatusLineIsEnough) {
    ResponseReader r;
    EXPECT_EQ(r.feed("HTTP/1.1 20"), P::NeedMore);
    EXPECT_FALSE(r.has_status());
    EXPECT_EQ(r.feed("4 No Content\r\nServer: x\r\n"), P::Complete);
    EXPECT_EQ(r.status(), 204u);
}

TEST(HttpResponse, StatusLineWithoutReasonAndHttp10) {
    ResponseReader a;
    EXPECT_EQ(a.feed("HTTP/1.0 503\r\n"), P::Complete);
    EXPECT_EQ(a.status(), 503u);
}

TEST(HttpResponse, RejectsWhatIsNotHttp) {
    ResponseReader a;
    EXPECT_EQ(a.feed("SSH-2.0-OpenSSH_9.2\r\n"), P::Malformed);
    EXPECT_NE(a.error().find("not HTTP"), std::string::npos);
    ResponseReader b;
    EXPECT_EQ(b.feed("HTTP/1.1 2x0 OK\r\n"), P::Malformed);
    EXPECT_NE(b.error().find("malformed status line"), std::string::npos);
    ResponseReader c;
    EXPECT_EQ(c.feed("HTTP/1.1 099 Odd\r\n"), P::Malformed);
    ResponseReader d;
    EXPECT_EQ(d.finish(), P::Malformed);
    EXPECT_EQ(d.error(), "connection closed without a response");
    ResponseReader e("ok");
    e.feed("HTTP/1.1 200 OK\r\nContent-Len");
    EXPECT_EQ(e.finish(), P::Malformed);
    EXPECT_EQ(e.error(), "connection closed inside the response headers");
}

TEST(HttpResponse, HeadersAreBounded) {
    ResponseReader r("ok");
    ASSERT_EQ(r.feed("HTTP/1.1 200 OK\r\n"), P::NeedMore);
    std::string junk(ResponseReader::kMaxHeaderBytes, 'a');
    EXPECT_EQ(r.feed("X: " + junk), P::Malformed);
    EXPECT_NE(r.error().find("headers longer than"), std::string::npos);
}

TEST(HttpResponse, FindsTheNeedleWithContentLengthInAnyPieces) {
    const std::string resp =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nstatus: all healthy";
    for (std::size_t step : {1u, 2u, 3u, 7u, 1000u}) {
        ResponseReader r("healthy");
        EXPECT_EQ(feed_in_pieces(r, resp, step), P::Complete) << step;
        EXPECT_TRUE(r.body_found()) << step;
        EXPECT_EQ(r.status(), 200u);
    }
}

TEST(HttpResponse, ContentLengthEndsTheBodyWithoutWaitingForClose) {
    ResponseReader r("missing");
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), P::Complete);
    EXPECT_FALSE(r.body_found());
    ResponseReader empty("x");
    EXPECT_EQ(empty.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), P::Complete);
    EXPECT_FALSE(empty.body_found());
}

TEST(HttpResponse, BytesAfterContentLengthAreNotBody) {
    ResponseReader r("tail");
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheadtail"), P::Complete);
    EXPECT_FALSE(r.body_found());
}

TEST(HttpResponse, ChunkedBodyIsDecodedSoFramingNeverSplitsAMatch) {
    // "healthy" split across two chunks, with a chunk extension.
    const std::string resp =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nheal\r\r\n"
        "3\r\nthy\r\n0\r\n\r\n";
    ResponseReader bad("heal\rthy");  // the raw bytes contain no match for this...
    for (std::size_t step : {1u, 4u, 1000u}) {
        ResponseReader r("\rthy");  // ...but the decoded body "heal\rthy" does
        EXPECT_EQ(feed_in_pieces(r, resp, step), P::Complete);
        EXPECT_TRUE(r.body_found()) << step;
    }
    ResponseReader miss("nothere");
    EXPECT_EQ(miss.feed(resp), P::Complete);  // ends at the last chunk, no close needed
    EXPECT_FALSE(miss.body_found());
    ResponseReader broken("x");
    EXPECT_EQ(broken.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), P::Malformed);
    EXPECT_NE(broken.error().find("chunk size"), std::string::npos);
}

TEST(HttpResponse, CloseDelimitedBodyEndsAtEof) {
    ResponseReader r("needle");
    EXPECT_EQ(r.feed("HTTP/1.0 200 OK\n\nhay hay"), P::NeedMore);  // bare LF too
    EXPECT_EQ(r.feed(" nee"), P::NeedMore);
    EXPECT_EQ(r.feed("dle"), P::Complete);
    EXPECT_TRUE(r.body_found());
    ResponseReader s("needle");
    EXPECT_EQ(s.feed("HTTP/1.0 200 OK\r\n\r\nhay"), P::NeedMore);
    EXPECT_EQ(s.finish(), P::Complete);
    EXPECT_FALSE(s.body_found());
}

TEST(HttpResponse, BodyScanIsBounded) {
    ResponseReader r("needle", 64);
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\n\r\n"), P::NeedMore);
    EXPECT_EQ(r.feed(std::string(60, 'x')), P::NeedMore);
    EXPECT_EQ(r.feed(std::string(10, 'x') + "needle"), P::Complete);  // past the budget
    EXPECT_FALSE(r.body_found());
    EXPECT_TRUE(r.scan_limit_reached());
    // A body shorter than the budget was searched whole.
    ResponseReader whole("needle", 64);
    EXPECT_EQ(whole.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhay"), P::Complete);
    EXPECT_FALSE(whole.body_found());
    EXPECT_FALSE(whole.scan_limit_reached());
}

TEST(HttpResponse, TheDefaultBodyScanIsOneMebibyte) {
    ResponseReader r("needle");
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\n\r\n"), P::NeedMore);
    EXPECT_EQ(r.feed(std::string(1024 * 1024 - 1, 'x')), P::NeedMore);
    EXPECT_EQ(r.feed("needle"), P::Complete);  // starts in the last byte of the first MiB
    EXPECT_FALSE(r.body_found());
    EXPECT_TRUE(r.scan_limit_reached());
}

TEST(HttpResponse, NoBodyStatusesCompleteAtTheHeaders) {
    ResponseReader r("x");
    EXPECT_EQ(r.feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"), P::Complete);
    EXPECT_EQ(r.status(), 304u);
}

TEST(Md5, MatchesKnownDigests) {
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6");
}

TEST(HttpResponse, DigestCoversTheWholeBodyInEveryFraming) {
    const std::string body = "The quick brown fox jumps over the lazy dog";
    const std::string md5 = "9e107d9d372bb6826bd81d3542a419d6";
    for (std::size_t step : {1u, 7u, 4096u}) {
        ResponseReader length({}, ResponseReader::kMaxBodyScan, true);
        EXPECT_EQ(feed_in_pieces(length, "HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\n" + body, step), P::Complete);
        EXPECT_EQ(length.body_md5(), md5) << step;

        ResponseReader chunked({}, ResponseReader::kMaxBodyScan, true);
        EXPECT_EQ(feed_in_pieces(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                          "a\r\nThe quick \r\n21\r\nbrown fox jumps over the lazy dog\r\n0\r\n\r\n", step),
                  P::Complete);
        EXPECT_EQ(chunked.body_md5(), md5) << step;

        ResponseReader closed({}, ResponseReader::kMaxBodyScan, true);
        EXPECT_EQ(feed_in_pieces(closed, "HTTP/1.0 200 OK\r\n\r\n" + body, step), P::NeedMore);
        EXPECT_EQ(closed.finish(), P::Complete);
        EXPECT_EQ(closed.body_md5(), md5) << step;
    }
    // A body cut short hashes to something else; a needle is still looked for, and does
    // not end the read early.
    ResponseReader cut({}, ResponseReader::kMaxBodyScan, true);
    cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\nThe quick");
    EXPECT_EQ(cut.finish(), P::Complete);
    EXPECT_NE(cut.body_md5(), md5);
    ResponseReader both("fox", ResponseReader::kMaxBodyScan, true);
    EXPECT_EQ(both.feed("HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\nThe quick brown fox"), P::NeedMore);
    EXPECT_TRUE(both.body_found());
    EXPECT_EQ(both.feed(" jumps over the lazy dog"), P::Complete);
    EXPECT_EQ(both.body_md5(), md5);
    // Without a digest nothing is hashed.
    ResponseReader none;
    none.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    EXPECT_EQ(none.body_md5(), "");
}

// RFC 9110 section 15.2: interim (1xx) responses come before the final one on the same
// connection; the client skips them and judges the final one.
TEST(HttpInterim, ContinueThenOkIsTheOk) {
    const std::string resp =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy";
    for (std::size_t step : {1u, 3u, 26u, 1000u}) {
        ResponseReader status_only;
        EXPECT_EQ(feed_in_pieces(status_only, resp, step), P::Complete) << step;
        EXPECT_EQ(status_only.status(), 200u) << step;
        ResponseReader needle("healthy");
        EXPECT_EQ(feed_in_pieces(needle, resp, step), P::Complete) << step;
        EXPECT_EQ(needle.status(), 200u);
        EXPECT_TRUE(needle.body_found()) << step;
        ResponseReader digest({}, ResponseReader::kMaxBodyScan, true);
        EXPECT_EQ(feed_in_pieces(digest, resp, step), P::Complete) << step;
        EXPECT_EQ(digest.body_md5(), md5_hex("healthy")) << step;
    }
    // The interim status is no verdict: nothing is known until the final one.
    ResponseReader r;
    EXPECT_EQ(r.feed("HTTP/1.1 100 Continue\r\n\r\n"), P::NeedMore);
    EXPECT_FALSE(r.has_status());
    EXPECT_EQ(r.feed("HTTP/1.1 503 Unavailable\r\n"), P::Complete);
    EXPECT_EQ(r.status(), 503u);
}

TEST(HttpInterim, EarlyHintsWithLinkHeadersThenTheFinalResponse) {
    const std::string resp =
        "HTTP/1.1 103 Early Hints\r\n"
        "Link: </style.css>; rel=preload; as=style\r\n"
        "Link: </script.js>; rel=preload; as=script\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall \r\n7\r\nhealthy\r\n0\r\n\r\n";
    for (std::size_t step : {1u, 5u, 1000u}) {
        ResponseReader r("all healthy");
        EXPECT_EQ(feed_in_pieces(r, resp, step), P::Complete) << step;
        EXPECT_EQ(r.status(), 200u);
        EXPECT_TRUE(r.body_found()) << step;
    }
}

TEST(HttpInterim, SeveralInARowAndWithBareLineFeeds) {
    ResponseReader r("ok");
    EXPECT_EQ(feed_in_pieces(r,
                             "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 102 Processing\r\n\r\n"
                             "HTTP/1.1 102 Processing\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload\n\n"
                             "HTTP/1.0 204\n\n",
                             4),
              P::Complete);
    EXPECT_EQ(r.status(), 204u);
    // Bounded: a server that sends nothing but interim responses fails at the 17th.
    ResponseReader endless;
    std::string many;
    for (unsigned i = 0; i <= detail::ResponseFraming::kMaxInterim; ++i) many += "HTTP/1.1 100 Continue\r\n\r\n";
    EXPECT_EQ(endless.feed(many), P::Malformed);
    EXPECT_EQ(endless.error(), "more than 16 interim (1xx) responses");
}

TEST(HttpInterim, AStreamThatEndsAfterInterimResponsesOnlyFails) {
    ResponseReader one;
    EXPECT_EQ(one.feed("HTTP/1.1 100 Continue\r\n\r\n"), P::NeedMore);
    EXPECT_EQ(one.finish(), P::Malformed);
    EXPECT_EQ(one.error(), "connection closed after an interim 100 response, before the final response");
    EXPECT_FALSE(one.has_status());
    ResponseReader two;
    EXPECT_EQ(two.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), P::NeedMore);
    EXPECT_EQ(two.finish(), P::Malformed);
    EXPECT_EQ(two.error(), "connection closed after 2 interim responses (the last a 103), before the final response");
    // Cut inside the interim response, or inside the final one's head: as without interim.
    ResponseReader cut;
    cut.feed("HTTP/1.1 100 Continue\r\n");
    EXPECT_EQ(cut.finish(), P::Malformed);
    EXPECT_EQ(cut.error(), "connection closed inside the response headers");
    ResponseReader cut_final;
    cut_final.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2");
    EXPECT_EQ(cut_final.finish(), P::Malformed);
    EXPECT_EQ(cut_final.error(), "connection closed inside the status line");
}

TEST(HttpInterim, SwitchingProtocolsFails) {
    ResponseReader r;
    EXPECT_EQ(r.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
              P::Malformed);
    EXPECT_EQ(r.error(), "the server switched protocols (101) though the request asked for no upgrade");
    EXPECT_FALSE(r.has_status());
    ResponseReader late;
    EXPECT_EQ(late.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n"), P::Malformed);
}

// Beast's parser checks its header limit against what one call presents; the limit here
// is on the whole head however it arrives, and on each interim response's head.
TEST(HttpResponse, HeadersAreBoundedWhenTheyTrickleIn) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    while (head.size() <= ResponseReader::kMaxHeaderBytes) head += "X-Filler: 0123456789abcdef\r\n";
    for (std::size_t step : {1u, 100u, 100000u}) {
        ResponseReader r("ok");
        EXPECT_EQ(feed_in_pieces(r, head + "\r\nok", step), P::Malformed) << step;
        EXPECT_EQ(r.error(), "response headers longer than 16384 bytes") << step;
    }
    ResponseReader interim;
    EXPECT_EQ(feed_in_pieces(interim, "HTTP/1.1 103 Early Hints\r\n" + head.substr(17), 7), P::Malformed);
    EXPECT_EQ(interim.error(), "response headers longer than 16384 bytes");
    // Just under the limit is fine.
    ResponseReader fits("ok");
    std::string under = "HTTP/1.1 200 OK\r\nX: " + std::string(ResponseReader::kMaxHeaderBytes - 100, 'a') + "\r\n\r\nok";
    EXPECT_EQ(feed_in_pieces(fits, under, 512), P::Complete);
    EXPECT_TRUE(fits.body_found());
}

TEST(HttpResponse, ChunkLinesAndTrailersAreBounded) {
    ResponseReader r("x");
    ASSERT_EQ(r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext="), P::NeedMore);
    P p = P::NeedMore;
    for (int i = 0; i < 100 && p == P::NeedMore; ++i) p = r.feed(std::string(1000, 'a'));
    EXPECT_EQ(p, P::Malformed);
    EXPECT_EQ(r.error(), "chunk size line or trailer section longer than 16384 bytes");
    // Trailers are read (and the body ends after them).
    ResponseReader t({}, ResponseReader::kMaxBodyScan, true);
    EXPECT_EQ(t.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"),
              P::Complete);
    EXPECT_EQ(t.body_md5(), md5_hex("ok"));
}

TEST(HttpResponse, StatusCodesOutsideTheRangeAndConflictingLengthsAreMalformed) {
    ResponseReader high;
    EXPECT_EQ(high.feed("HTTP/1.1 600 Odd\r\n"), P::Malformed);
    EXPECT_EQ(high.error(), "malformed status line 'HTTP/1.1 600 Odd'");
    ResponseReader two("x");
    EXPECT_EQ(two.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), P::Malformed);
    EXPECT_EQ(two.error(), "conflicting Content-Length values");
    // RFC 9112 section 6.3: both framings at once is how responses are smuggled.
    ResponseReader both("x");
    EXPECT_EQ(both.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), P::Malformed);
    EXPECT_EQ(both.error(), "malformed Transfer-Encoding, or one beside Content-Length");
    ResponseReader bad("x");
    EXPECT_EQ(bad.feed("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"), P::Malformed);
    EXPECT_EQ(bad.error(), "malformed Content-Length, or one beside Transfer-Encoding");
}
