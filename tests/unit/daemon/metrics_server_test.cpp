// The metrics server's request classifier and response writer, with plain values: what
// the server answers to which request head.
#include "daemon/metrics_server.hpp"

#include <string>

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::daemon;

TEST(MetricsHttp, GetAndHeadOfMetrics) {
    auto r = classify_request("GET /metrics HTTP/1.1\r\nHost: 192.0.2.1:9100\r\nAccept: */*\r\n\r\n");
    EXPECT_EQ(r.status, 200u);
    EXPECT_FALSE(r.head);
    r = classify_request("HEAD /metrics HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.head);
    // Prometheus may add query parameters; a bare LF is tolerated (RFC 9112 §2.2).
    EXPECT_EQ(classify_request("GET /metrics?name[]=x HTTP/1.1\r\n\r\n").status, 200u);
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\nHost: x\n\n").status, 200u);
    EXPECT_EQ(classify_request("GET http://192.0.2.1:9100/metrics HTTP/1.1\r\n\r\n").status, 200u);
}

TEST(MetricsHttp, OtherPathsAndMethods) {
    EXPECT_EQ(classify_request("GET / HTTP/1.1\r\n\r\n").status, 404u);
    EXPECT_EQ(classify_request("GET /metricsx HTTP/1.1\r\n\r\n").status, 404u);
    EXPECT_EQ(classify_request("GET /metrics/ HTTP/1.1\r\n\r\n").status, 404u);
    EXPECT_EQ(classify_request("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status, 405u);
    EXPECT_EQ(classify_request("DELETE /metrics HTTP/1.1\r\n\r\n").status, 405u);
}

TEST(MetricsHttp, MalformedRequestsAre400) {
    for (const char* bad : {
             "",
             "\r\n\r\n",
             "GET /metrics\r\n\r\n",                     // HTTP/0.9
             "GET /metrics HTTP/2.0\r\n\r\n",            // not HTTP/1.x
             "GET  /metrics HTTP/1.1\r\n\r\n",           // two spaces
             "GET /metrics HTTP/1.1 extra\r\n\r\n",      // four fields
             "G(T /metrics HTTP/1.1\r\n\r\n",            // not a token
             "GET metrics HTTP/1.1\r\n\r\n",             // not origin-form
             "GET /met\x01rics HTTP/1.1\r\n\r\n",        // control byte in the target
             "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
             "GET /metrics HTTP/1.1\r\n folded: header\r\n\r\n",
             "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  // a TLS ClientHello
         })
        EXPECT_EQ(classify_request(bad).status, 400u) << '"' << bad << '"';
}

TEST(MetricsHttp, ResponsesCloseTheConnectionAndSizeTheBody) {
    auto r = http_response(200, kMetricsContentType, "x 1\n");
    EXPECT_EQ(r,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: 4\r\nConnection: close\r\n\r\nx 1\n");
    // HEAD: the length of the body that GET would send, and no body.
    auto h = http_response(200, kMetricsContentType, "x 1\n", true);
    EXPECT_TRUE(h.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n")) << h;
    auto m = http_response(405, "text/plain", "no\n");
    EXPECT_TRUE(m.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << m;
    EXPECT_NE(m.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << m;
    EXPECT_TRUE(http_response(431, "text/plain", "").starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

TEST(MetricsHttp, RequestBodiesAreRefusedWith413) {
    // A scrape has no body; none is read.
    EXPECT_EQ(classify_request("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n").status, 413u);
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx").status, 413u);
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status, 413u);
    auto h = classify_request("HEAD /metrics HTTP/1.1\nContent-Length: 9\n\n");
    EXPECT_EQ(h.status, 413u);
    EXPECT_TRUE(h.head);
    // An empty one is no body; a Content-Length that is not a number is malformed.
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status, 200u);
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n").status, 400u);
    EXPECT_TRUE(http_response(413, "text/plain", "").starts_with("HTTP/1.1 413 "));
}

TEST(MetricsHttp, LineEndsMayMixCrLfAndBareLf) {
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nHost: x\n\r\n").status, 200u);
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\nHost: x\r\n\n").status, 200u);
    // A head cut short is not a request.
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\nHost: x\r\n").status, 400u);
    // A lone CR is no line end.
    EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\rHost: x\r\n\r\n").status, 400u);
}
