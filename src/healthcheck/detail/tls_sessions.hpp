// SSL_GET's TLS session resumption: which session a probe may offer the real server, and
// when it must make a full handshake instead. Pure (the time comes in, the session is any
// movable handle); probe.cpp keeps one cache per process with OpenSSL's SSL_SESSION.
//
// Why: a full TLS handshake is almost all of an SSL_GET check's CPU (parsing the server's
// certificate, verifying its signature, the ECDHE key exchange); a resumed one (RFC 5077
// tickets for TLS 1.2, RFC 8446 section 2.2 PSKs for TLS 1.3) skips the certificate and
// the signature. The rule that bounds what a resumed check no longer proves:
//   - only without ssl_verify: a verified check makes a full handshake every time, so
//     that every check judges the certificate (chain, name, validity period);
//   - a full handshake at least every kFullHandshakeEvery per target (address, port and
//     SNI), so that the server proves it holds its certificate's key at least that often;
//   - any failed check forgets the target's session: the next one is a full handshake.
// The server decides too: one that rejects the ticket (restarted, ticket keys rotated)
// gets a full handshake at once, which then counts as the target's last one.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>

namespace lvsd::healthcheck::detail {

inline constexpr std::chrono::seconds kFullHandshakeEvery{60};

template <class Session>
class TlsSessions {
public:
    using Clock = std::chrono::steady_clock;

    // The session to offer on the next handshake with `target`, or nullptr for a full
    // handshake (none kept, or the last full handshake is kFullHandshakeEvery old).
    const Session* offer(const std::string& target, Clock::time_point now) {
        auto it = entries_.find(target);
        if (it == entries_.end()) return nullptr;
        if (now - it->second.full_at >= kFullHandshakeEvery) {
            entries_.erase(it);
            return nullptr;
        }
        return &it->second.session;
    }

    // After a check that passed: the session the connection ended with (a TLS 1.3 server
    // sends fresh tickets on every connection) and whether the handshake resumed one.
    void keep(const std::string& target, Session session, bool resumed, Clock::time_point now) {
        auto it = entries_.find(target);
        if (resumed && it != entries_.end()) {
            it->second.session = std::move(session);  // full_at stays: that of the last full handshake
        } else if (!resumed) {
            entries_.insert_or_assign(target, Entry{std::move(session), now});
        }
        // (resumed with nothing kept: the entry was dropped meanwhile; the next check is full.)
        if (++keeps_ % kSweepEvery == 0) sweep(now);
    }

    // After a check that failed, or when the target is gone.
    void drop(const std::string& target) { entries_.erase(target); }

    std::size_t size() const { return entries_.size(); }

private:
    // Entries of targets no longer checked (removed by a reload) would stay forever:
    // every so often the ones too old to be offered go.
    static constexpr std::size_t kSweepEvery = 1024;

    void sweep(Clock::time_point now) {
        std::erase_if(entries_, [&](const auto& e) { return now - e.second.full_at >= kFullHandshakeEvery; });
    }

    struct Entry {
        Session session;
        Clock::time_point full_at;  // the last full handshake with this target
    };
    std::map<std::string, Entry> entries_;
    std::size_t keeps_ = 0;
};

}  // namespace lvsd::healthcheck::detail
