// DNS_CHECK's wire format: the query bytes and the verdict on answers, against
// byte-exact fixtures (RFC 1035 section 4.1).
#include "healthcheck/dns.hpp"

#include <gtest/gtest.h>

using namespace lvsd::healthcheck;

namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int x : b) s += static_cast<char>(x);
    return s;
}

// A response to id 0x1234 for "a.test" with `rcode` and the given answer records.
std::string response(uint16_t id, int rcode, uint16_t qtype, const std::string& answers, int ancount) {
    std::string s = bytes({id >> 8, id & 0xff, 0x81, 0x80 | rcode, 0, 1, 0, ancount, 0, 0, 0, 0});
    s += bytes({1, 'a', 4, 't', 'e', 's', 't', 0, qtype >> 8, qtype & 0xff, 0, 1});
    return s + answers;
}

// An A record 192.0.2.53 for the question's name (a pointer to offset 12).
const std::string kARecord = bytes({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 53});

}  // namespace

TEST(DnsQuery, IsARecursiveQueryWithTheIdTypeAndName) {
    auto q = dns_query("a.test", *dns_type("A"), 0x1234);
    ASSERT_TRUE(q);
    EXPECT_EQ(*q, bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // RD, one question
                         1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1}));  // a.test A IN
    auto root = dns_query(".", *dns_type("SOA"), 1);
    ASSERT_TRUE(root);
    EXPECT_EQ(root->substr(12), bytes({0, 0, 6, 0, 1}));
    EXPECT_FALSE(dns_query("a..b", 1, 1));
}

TEST(DnsType, KnowsTheMnemonics) {
    EXPECT_EQ(dns_type("A"), 1);
    EXPECT_EQ(dns_type("NS"), 2);
    EXPECT_EQ(dns_type("SOA"), 6);
    EXPECT_EQ(dns_type("AAAA"), 28);
    EXPECT_EQ(dns_type("aaaa"), 28);
    EXPECT_EQ(dns_type("NOPE"), std::nullopt);
}

TEST(DnsJudge, UpOnlyForNoErrorWithARecordOfTheType) {
    auto ok = dns_judge(response(0x1234, 0, 1, kARecord, 1), 1, 0x1234);
    EXPECT_TRUE(ok.matches);
    EXPECT_TRUE(ok.ok);
    EXPECT_EQ(ok.reason, "1 A record");
    auto nodata = dns_judge(response(0x1234, 0, 28, "", 0), 28, 0x1234);
    EXPECT_TRUE(nodata.matches);
    EXPECT_FALSE(nodata.ok);
    EXPECT_EQ(nodata.reason, "no AAAA record in the answer");
    auto other_type = dns_judge(response(0x1234, 0, 28, kARecord, 1), 28, 0x1234);  // an A for an AAAA query
    EXPECT_FALSE(other_type.ok);
    auto nx = dns_judge(response(0x1234, 3, 1, "", 0), 1, 0x1234);
    EXPECT_TRUE(nx.matches);
    EXPECT_FALSE(nx.ok);
    EXPECT_EQ(nx.reason, "NXDOMAIN");
    EXPECT_EQ(dns_judge(response(0x1234, 2, 1, "", 0), 1, 0x1234).reason, "SERVFAIL");
    EXPECT_EQ(dns_judge(response(0x1234, 5, 1, "", 0), 1, 0x1234).reason, "REFUSED");
}

TEST(DnsJudge, WhatIsNotOurAnswerIsIgnoredAndABrokenOneFails) {
    EXPECT_FALSE(dns_judge(response(0x4321, 0, 1, kARecord, 1), 1, 0x1234).matches);  // another id
    auto query = dns_query("a.test", 1, 0x1234);
    EXPECT_FALSE(dns_judge(*query, 1, 0x1234).matches);  // a query, not a response
    EXPECT_FALSE(dns_judge("", 1, 0x1234).matches);
    EXPECT_FALSE(dns_judge("garbage", 1, 0x1234).matches);
    // Our id and QR, but cut inside the answer record.
    auto cut = response(0x1234, 0, 1, kARecord.substr(0, 8), 1);
    auto v = dns_judge(cut, 1, 0x1234);
    EXPECT_TRUE(v.matches);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.reason, "malformed DNS response");
}
