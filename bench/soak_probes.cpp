#include "soak_probes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "pair/observe.hpp"

namespace lvsd::soak {

namespace {

// RFC 1071 checksum.
uint16_t checksum(const uint8_t* data, std::size_t len) {
    uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// A VRRPv2 advert with no authentication, one address and a correct checksum.
std::vector<uint8_t> advert_v2(int vrid, const std::string& vip, uint8_t priority) {
    std::vector<uint8_t> p{0x21, static_cast<uint8_t>(vrid), priority, 1, 0 /*auth none*/, 1 /*advert_int*/, 0, 0, 0,
                           0,    0,                          0,        0, 0, 0,              0,                0, 0, 0,
                           0};
    ::inet_pton(AF_INET, vip.c_str(), &p[8]);
    const uint16_t c = checksum(p.data(), p.size());
    p[6] = static_cast<uint8_t>(c >> 8);
    p[7] = static_cast<uint8_t>(c & 0xff);
    return p;
}

}  // namespace

Usage usage_of(pid_t pid) {
    Usage u;
    std::error_code ec;
    long n = 0;
    for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    if (!ec) u.fds = n;
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::stol(line.substr(6));
    return u;
}

int send_hostile_adverts(const std::string& netns, const std::string& source, const std::string& vip, int vrid,
                         int count, uint64_t seed) {
    int sent = 0;
    lvsd::pair::in_netns(netns, [&] {
        const int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, 112);
        if (fd < 0) return false;
        in_addr src{};
        ::inet_pton(AF_INET, source.c_str(), &src);
        ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &src, sizeof src);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        ::inet_pton(AF_INET, "224.0.0.18", &dst.sin_addr);
        uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
        for (int k = 0; k < count; ++k) {
            auto p = advert_v2(vrid, vip, 255);
            int ttl = 255;
            switch (k % 5) {
                case 0: p[7] ^= 0x5a; break;  // bad checksum
                case 1: ttl = 1; break;       // wrong TTL, good checksum
                case 2: p[0] = 0x11; break;   // version 1
                case 3: p.resize(6); break;   // truncated
                default:                      // noise
                    for (auto& b : p) {
                        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                        b = static_cast<uint8_t>(x);
                    }
            }
            ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
            if (::sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst) > 0) ++sent;
        }
        ::close(fd);
        return true;
    });
    return sent;
}

}  // namespace lvsd::soak
