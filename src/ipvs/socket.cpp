// Genetlink transport for IPVS. libnl-3 resolves the family and builds the messages;
// sending and receiving are done here on the socket so that many requests can share
// one sendmsg and their ACKs be collected with recvmmsg: the kernel handles every
// message of a datagram in turn and answers each with its own ACK or error, so a
// batch is as safe as one-at-a-time, as long as the ACKs fit the receive buffer.
#include "ipvs/detail/socket.hpp"

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

namespace lvsd::ipvs {

using namespace detail;

namespace {

constexpr int kWantedSndBuf = 1 << 20;
constexpr std::size_t kMaxBatchBytes = 256 << 10;

Reply parse_ack(const nlmsghdr* h) {
    Reply r;
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        r.error = EBADMSG;
        return r;
    }
    const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
    r.error = -e->error;
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return r;
    // Extended ACK: attributes follow the error and, unless capped, the echoed request.
    std::size_t offset = NLMSG_LENGTH(sizeof(nlmsgerr));
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) offset += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
    if (offset >= h->nlmsg_len) return r;
    auto* attrs = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(const_cast<nlmsghdr*>(h)) + offset);
    nlattr* tb[NLMSGERR_ATTR_MAX + 1] = {};
    if (nla_parse(tb, NLMSGERR_ATTR_MAX, attrs, static_cast<int>(h->nlmsg_len - offset), nullptr) < 0)
        return r;
    if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
        const char* s = static_cast<const char*>(nla_data(tb[NLMSGERR_ATTR_MSG]));
        r.extack.assign(s, strnlen(s, static_cast<std::size_t>(nla_len(tb[NLMSGERR_ATTR_MSG]))));
    }
    return r;
}

template <class F>
void for_each_message(const char* buf, std::size_t len, F&& f) {
    auto* h = reinterpret_cast<const nlmsghdr*>(buf);
    auto remaining = static_cast<int>(len);
    for (; NLMSG_OK(h, remaining); h = NLMSG_NEXT(h, remaining)) f(h);
}

}  // namespace

namespace detail {

std::string errno_text(int err) {
    const char* desc = strerrordesc_np(err);
    const char* name = strerrorname_np(err);
    return fmt::format("{} ({})", desc ? desc : "unknown error",
                       name ? std::string(name) : std::to_string(err));
}

std::string with_extack(std::string reason, const std::string& extack) {
    if (!extack.empty()) reason += fmt::format(": kernel says \"{}\"", extack);
    return reason;
}

}  // namespace detail

Client::Impl::~Impl() {
    if (sock) nl_socket_free(sock);
}

int Client::Impl::send_buffer(const char* data, std::size_t len) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    for (;;) {
        ssize_t n = sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
        if (n >= 0) return static_cast<std::size_t>(n) == len ? 0 : EMSGSIZE;
        if (errno != EINTR) return errno;
    }
}

void Client::Impl::stamp(nl_msg* m, uint16_t flags) {
    nlmsghdr* h = nlmsg_hdr(m);
    h->nlmsg_seq = ++seq;
    h->nlmsg_pid = port;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
}

std::vector<Reply> Client::Impl::transact(const std::vector<MsgPtr>& msgs) {
    std::vector<Reply> replies(msgs.size());
    mmsghdr mm[kAckSlots];
    iovec iov[kAckSlots];
    for (std::size_t start = 0, end = 0; start < msgs.size(); start = end) {
        const uint32_t first = seq + 1;
        tx.clear();
        for (end = start; end < msgs.size() && end - start < batch; ++end) {
            const nlmsghdr* h = nlmsg_hdr(msgs[end].get());
            if (end > start && tx.size() + NLMSG_ALIGN(h->nlmsg_len) > batch_bytes) break;
            stamp(msgs[end].get(), NLM_F_ACK);
            const auto* p = reinterpret_cast<const char*>(h);
            tx.insert(tx.end(), p, p + h->nlmsg_len);
            tx.resize(NLMSG_ALIGN(tx.size()));
        }
        const std::size_t count = end - start;
        sent += count;
        if (int e = send_buffer(tx.data(), tx.size()); e != 0) {
            for (std::size_t j = start; j < end; ++j) replies[j].error = e;
            continue;
        }
        std::vector<bool> done(count, false);
        std::size_t pending = count;
        while (pending > 0) {
            const std::size_t slots = std::min(pending, kAckSlots);
            for (std::size_t i = 0; i < slots; ++i) {
                iov[i] = {ack_rx.data() + i * kAckSlotSize, kAckSlotSize};
                mm[i] = {};
                mm[i].msg_hdr.msg_iov = &iov[i];
                mm[i].msg_hdr.msg_iovlen = 1;
            }
            int n = recvmmsg(fd, mm, static_cast<unsigned>(slots), MSG_WAITFORONE, nullptr);
            if (n < 0) {
                if (errno == EINTR) continue;
                // ENOBUFS: ACKs were dropped; EAGAIN: no answer within the receive
                // timeout. Either way the outcome of those ops is unknown, and the
                // next reconcile's dump will tell.
                const int e = errno == EAGAIN ? ETIMEDOUT : errno;
                for (std::size_t j = 0; j < count; ++j)
                    if (!done[j]) replies[start + j].error = e;
                break;
            }
            for (int i = 0; i < n; ++i) {
                for_each_message(ack_rx.data() + static_cast<std::size_t>(i) * kAckSlotSize,
                                 mm[i].msg_len, [&](const nlmsghdr* h) {
                                     if (h->nlmsg_type != NLMSG_ERROR) return;
                                     const uint32_t off = h->nlmsg_seq - first;  // wraps safely
                                     if (off >= count || done[off]) return;
                                     done[off] = true;
                                     --pending;
                                     replies[start + off] = parse_ack(h);
                                 });
            }
        }
    }
    return replies;
}

Result<void> Client::Impl::exchange(nl_msg* m, bool dump, std::string_view what,
                                    const std::function<Result<void>(const nlmsghdr*)>& each) {
    stamp(m, dump ? NLM_F_DUMP : NLM_F_ACK);
    const uint32_t s = seq;
    const nlmsghdr* req = nlmsg_hdr(m);
    ++sent;
    if (int e = send_buffer(reinterpret_cast<const char*>(req), req->nlmsg_len); e != 0)
        return make_error(e, "{}: send: {}", what, errno_text(e));
    std::optional<Error> first_error;
    Reply status;
    bool finished = false;
    bool lost = false;
    while (!finished) {
        iovec iov{rx.data(), rx.size()};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            // Messages for this socket were dropped: this answer may miss some. The dump
            // still runs in the kernel, which refuses another on this socket until it
            // ends (EBUSY), so it is read to its end before the caller asks again.
            if (errno == ENOBUFS && dump) {
                lost = true;
                continue;
            }
            const int e = errno == EAGAIN ? ETIMEDOUT : errno;
            return make_error(e, "{}: receive: {}", what, errno_text(e));
        }
        if (mh.msg_flags & MSG_TRUNC)
            return make_error(EMSGSIZE, "{}: reply larger than {} bytes", what, rx.size());
        for_each_message(rx.data(), static_cast<std::size_t>(n), [&](const nlmsghdr* h) {
            if (finished || h->nlmsg_seq != s) return;
            if (h->nlmsg_type == NLMSG_DONE) {
                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
                    int e = 0;
                    std::memcpy(&e, NLMSG_DATA(h), sizeof e);
                    status.error = -e;
                }
                finished = true;
            } else if (h->nlmsg_type == NLMSG_ERROR) {
                status = parse_ack(h);
                // A dump request answered ENOBUFS: the receive queue was full when the
                // dump started. The kernel keeps the dump and sends it as the queue
                // drains (netlink_recvmsg), so it is read to its end as above.
                if (dump && status.error == ENOBUFS) {
                    lost = true;
                    status = {};
                    return;
                }
                finished = true;
            } else if (h->nlmsg_type == family) {
                auto r = each(h);
                if (!r && !first_error) first_error = r.error();
            }
        });
    }
    if (lost) return make_error(ENOBUFS, "{}: replies were lost (ENOBUFS)", what);
    if (status.error != 0)
        return make_error(status.error, "{}: {}", what,
                          with_extack(errno_text(status.error), status.extack));
    if (first_error) return *first_error;
    return {};
}

Result<void> Client::Impl::dump_destinations(const ServiceKey& s, bool with_stats,
                                             const std::function<void(DestinationStatus&&)>& each) {
    auto m = request(IPVS_CMD_GET_DEST);
    if (!m) return m.error();
    if (int e = detail::put_service_key(m->get(), s); e < 0)
        return make_error(ENOMEM, "dump destinations of {}: {}", s, nl_geterror(e));
    const std::string what = fmt::format("dump destinations of {}", s);
    return exchange(m->get(), true, what, [&](const nlmsghdr* h) -> Result<void> {
        auto msg = detail::decode(h, what, s.family, with_stats);
        if (!msg) return msg.error();
        if (msg->destination) each(std::move(*msg->destination));
        return {};
    });
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::open(int receive_buffer) {
    auto impl = std::make_unique<Impl>();
    impl->sock = nl_socket_alloc();
    if (!impl->sock) return make_error(ENOMEM, "open IPVS netlink socket: out of memory");
    if (int e = genl_connect(impl->sock); e < 0)
        return make_error(EIO, "open generic netlink socket: {}", nl_geterror(e));
    // The first lookup makes the kernel load ip_vs (MODULE_ALIAS_GENL_FAMILY); the
    // family may only appear once the module has finished registering, so ask twice.
    int family = genl_ctrl_resolve(impl->sock, IPVS_GENL_NAME);
    if (family == -NLE_OBJ_NOTFOUND) family = genl_ctrl_resolve(impl->sock, IPVS_GENL_NAME);
    if (family == -NLE_OBJ_NOTFOUND)
        return make_error(ENOENT, "IPVS is not available in this kernel: modprobe ip_vs");
    if (family < 0)
        return make_error(EIO, "resolve generic netlink family {}: {}", IPVS_GENL_NAME,
                          nl_geterror(family));
    impl->family = family;
    impl->fd = nl_socket_get_fd(impl->sock);
    impl->port = nl_socket_get_local_port(impl->sock);

    const int one = 1;
    // Errors echo only the header, and carry the kernel's explanation when it has one.
    setsockopt(impl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    setsockopt(impl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    // Bigger buffers allow bigger batches (libnl shrinks both to 32 KiB on connect).
    // FORCE needs CAP_NET_ADMIN, which writing IPVS needs anyway; without it the plain
    // options are capped by rmem_max / wmem_max.
    if (setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) != 0)
        setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (setsockopt(impl->fd, SOL_SOCKET, SO_SNDBUFFORCE, &kWantedSndBuf, sizeof kWantedSndBuf) != 0)
        setsockopt(impl->fd, SOL_SOCKET, SO_SNDBUF, &kWantedSndBuf, sizeof kWantedSndBuf);
    // The kernel answers within the sendmsg or the recvmsg that asks for more, so a
    // wait never lasts; the timeout only keeps a bug from freezing the daemon's loop.
    const timeval timeout{5, 0};
    setsockopt(impl->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int rcvbuf = 0;
    int sndbuf = 0;
    socklen_t len = sizeof rcvbuf;
    getsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
    len = sizeof sndbuf;
    getsockopt(impl->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
    // An ACK costs well under 2 KiB of receive buffer (skb truesize): a margin of two.
    impl->batch = std::clamp<std::size_t>(static_cast<std::size_t>(rcvbuf) / 4096, 16, 1024);
    // The kernel refuses a datagram larger than sndbuf - 32 (EMSGSIZE); one message of
    // ours is at most a few hundred bytes, so 4 KiB always fits.
    impl->batch_bytes = std::clamp<std::size_t>(static_cast<std::size_t>(sndbuf) / 2, 4096, kMaxBatchBytes);
    return std::unique_ptr<Client>(new Client(std::move(impl)));
}

}  // namespace lvsd::ipvs
