// Private: the generic-netlink socket under ipvs::Client (Client::Impl): batched
// requests whose ACKs come back through recvmmsg, and single request/reply exchanges
// (dumps included). What the messages say is netlink.hpp's business.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/client.hpp"
#include "ipvs/detail/netlink.hpp"

struct nl_sock;

namespace lvsd::ipvs {
namespace detail {

inline constexpr std::size_t kAckSlots = 64;       // datagrams per recvmmsg
inline constexpr std::size_t kAckSlotSize = 4096;  // an ACK, capped, with an extack message
inline constexpr std::size_t kDumpBufSize = 64 << 10;  // the kernel sends dump parts up to 32 KiB

struct Reply {
    int error = 0;  // positive errno, 0 on success
    std::string extack;
};

// "No such file or directory (ENOENT)".
std::string errno_text(int err);
// `reason`, then the kernel's extended-ACK message when it gave one.
std::string with_extack(std::string reason, const std::string& extack);

// A dump whose replies were lost is incomplete. ENOBUFS on a netlink socket means the
// kernel dropped messages for it (its receive queue was full when a reply or ACK was
// queued; the kernel says so once, at the next receive), so a dump that meets it cannot
// tell what it missed. It is asked again from the start (a new request, a new sequence
// number: stale replies of the lost one are skipped by theirs), with a fresh result,
// at most kDumpAttempts times in all; any other error is returned at once.
inline constexpr int kDumpAttempts = 3;

// `attempt()` runs one whole dump and returns Result<T>.
template <class F>
auto retry_lost_dump(F&& attempt) -> decltype(attempt()) {
    for (int n = 1;; ++n) {
        auto r = attempt();
        if (r || r.error().code != ENOBUFS) return r;
        if (n == kDumpAttempts)
            return make_error(ENOBUFS, "{} (replies lost {} times in a row; tried again at the next reconcile)",
                              r.error().message, kDumpAttempts);
    }
}

}  // namespace detail

struct Client::Impl {
    nl_sock* sock = nullptr;
    int fd = -1;
    int family = 0;
    uint32_t port = 0;
    uint32_t seq = 0;
    uint64_t sent = 0;
    std::size_t batch = 128;          // messages per sendmsg: their ACKs must fit rcvbuf
    std::size_t batch_bytes = 16384;  // bytes per sendmsg: must fit sndbuf
    std::vector<char> tx;
    std::vector<char> rx = std::vector<char>(detail::kDumpBufSize);
    std::vector<char> ack_rx = std::vector<char>(detail::kAckSlots * detail::kAckSlotSize);

    ~Impl();

    int send_buffer(const char* data, std::size_t len);
    void stamp(nl_msg* m, uint16_t flags);

    // Sends `msgs` (each wants an ACK) in batches; one Reply per message.
    std::vector<detail::Reply> transact(const std::vector<detail::MsgPtr>& msgs);

    // One request: a dump (replies until NLMSG_DONE) or a do-request (replies, then
    // the ACK). `each` sees every reply; the first error it returns is kept while the
    // rest of the answer is drained, so that the socket stays in step. A dump during
    // which the kernel reported lost messages (ENOBUFS) is read to its end and then
    // fails with ENOBUFS: see retry_lost_dump.
    Result<void> exchange(nl_msg* m, bool dump, std::string_view what,
                          const std::function<Result<void>(const nlmsghdr*)>& each);

    Result<detail::MsgPtr> request(uint8_t command) { return detail::new_request(family, command); }

    Result<void> dump_destinations(const ServiceKey& s, bool with_stats,
                                   const std::function<void(DestinationStatus&&)>& each);
};

}  // namespace lvsd::ipvs
