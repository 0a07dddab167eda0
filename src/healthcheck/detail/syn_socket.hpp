// Private to the SYN prober (syn_prober.hpp): the per-family channel (raw socket, held
// source ports) and the socket helpers that both halves use, syn_prober.cpp (probes in
// flight: SYNs out, replies and deadlines in) and syn_prober_socket.cpp (opening the
// sockets, the BPF filter, source routes and ports).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/generic/raw_protocol.hpp>

#include "healthcheck/detail/syn_prober.hpp"

namespace lvsd::healthcheck::detail {

namespace syn {

std::string errno_text(int e);

const char* family_name(Family f);

// Failures of this host rather than of the real server (see ProbeResult::inconclusive).
bool local_shortage(int e);

// The same reasons the connect() probe gives (probe.cpp), so that a log reads the same.
std::string connect_failure(int e);

ProbeResult failure(std::string reason, bool inconclusive = false);

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t length = 0;
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SockAddr sockaddr_of(const IpAddress& a, uint16_t port);

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

}  // namespace syn

struct SynProber::Channel {
    explicit Channel(Family f) : family(f) {}
    Family family;
    bool tried = false;
    std::optional<boost::asio::generic::raw_protocol::socket> socket;
    std::vector<syn::Fd> held;    // bound, never listening: their ports are ours alone
    std::vector<uint16_t> ports;  // the port of each held socket
    bool reading = false;
    int domain() const { return family == Family::V4 ? AF_INET : AF_INET6; }
};

}  // namespace lvsd::healthcheck::detail
