// SSL_GET's session resumption rules (detail/tls_sessions.hpp), with plain values for the
// sessions and the time passed in. The netns tier (ssl_test.cpp) shows a real server
// resuming them.
#include "healthcheck/detail/tls_sessions.hpp"

#include <gtest/gtest.h>

using namespace lvsd::healthcheck::detail;
using namespace std::chrono_literals;

namespace {

using Sessions = TlsSessions<int>;
const Sessions::Clock::time_point t0{};

}  // namespace

TEST(TlsSessions, NothingIsOfferedBeforeAFullHandshake) {
    Sessions s;
    EXPECT_EQ(s.offer("192.0.2.1:443||", t0), nullptr);
}

TEST(TlsSessions, TheLastSessionIsOfferedUntilTheFullHandshakeIsTooOld) {
    Sessions s;
    s.keep("a", 1, /*resumed=*/false, t0);
    ASSERT_NE(s.offer("a", t0 + 1s), nullptr);
    EXPECT_EQ(*s.offer("a", t0 + 1s), 1);
    // Resumed checks bring fresh sessions (TLS 1.3 tickets) but not a fresh deadline.
    s.keep("a", 2, /*resumed=*/true, t0 + 30s);
    EXPECT_EQ(*s.offer("a", t0 + 30s), 2);
    EXPECT_NE(s.offer("a", t0 + kFullHandshakeEvery - 1ms), nullptr);
    EXPECT_EQ(s.offer("a", t0 + kFullHandshakeEvery), nullptr);
    EXPECT_EQ(s.size(), 0u);  // forgotten: the next check stays full until one passes
    EXPECT_EQ(s.offer("a", t0 + kFullHandshakeEvery - 1ms), nullptr);
}

TEST(TlsSessions, AFullHandshakeRestartsTheDeadline) {
    Sessions s;
    s.keep("a", 1, false, t0);
    // The server refused the ticket (restarted): the full handshake counts.
    s.keep("a", 2, false, t0 + 50s);
    EXPECT_NE(s.offer("a", t0 + 50s + kFullHandshakeEvery - 1s), nullptr);
    EXPECT_EQ(s.offer("a", t0 + 50s + kFullHandshakeEvery), nullptr);
}

TEST(TlsSessions, AFailedCheckForgetsTheSession) {
    Sessions s;
    s.keep("a", 1, false, t0);
    s.keep("b", 2, false, t0);
    s.drop("a");
    EXPECT_EQ(s.offer("a", t0 + 1s), nullptr);
    ASSERT_NE(s.offer("b", t0 + 1s), nullptr);
    // A resumed check that ends after its session was dropped keeps nothing: the next
    // check is a full handshake.
    s.keep("a", 3, /*resumed=*/true, t0 + 2s);
    EXPECT_EQ(s.offer("a", t0 + 2s), nullptr);
}

TEST(TlsSessions, TargetsAreKeptApart) {
    Sessions s;
    s.keep("192.0.2.1:443|www.example.test|", 1, false, t0);
    EXPECT_EQ(s.offer("192.0.2.1:443||", t0), nullptr);  // same server, no SNI
    EXPECT_EQ(s.offer("192.0.2.2:443|www.example.test|", t0), nullptr);
    EXPECT_EQ(*s.offer("192.0.2.1:443|www.example.test|", t0), 1);
}

TEST(TlsSessions, SessionsOfTargetsNoLongerCheckedAreSweptAway) {
    Sessions s;
    s.keep("gone", 1, false, t0);
    // 1,023 more keeps of another target, the last one after the deadline of "gone".
    for (int i = 0; i < 1022; ++i) s.keep("live", 2, false, t0 + 1s);
    EXPECT_EQ(s.size(), 2u);
    s.keep("live", 3, false, t0 + kFullHandshakeEvery + 1s);
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(*s.offer("live", t0 + kFullHandshakeEvery + 1s), 3);
}
