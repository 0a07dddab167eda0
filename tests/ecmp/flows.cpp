#include "ecmp/flows.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace lvsd::ecmp {

namespace {

using namespace std::chrono_literals;

// Enters namespace `netns` on the calling thread only (CLONE_NEWNET moves one thread).
void enter_netns(const std::string& netns) {
    const std::string path = "/run/netns/" + netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("open {}: {}", path, std::strerror(errno)));
    const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) throw std::runtime_error(fmt::format("setns {}: {}", path, std::strerror(err)));
}

sockaddr_in endpoint(const std::string& addr, int port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1)
        throw std::runtime_error(fmt::format("not an IPv4 address: '{}'", addr));
    return sa;
}

void signal_stop(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}

}  // namespace

// ---- HttpServer

HttpServer::HttpServer(const std::string& netns, std::string name, int port) : name_(std::move(name)) {
    std::string error;
    // The socket belongs to the namespace it was made in, whichever thread serves it.
    std::thread([&] {
        try {
            enter_netns(netns);
            listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            const int on = 1;
            ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            auto sa = endpoint("0.0.0.0", port);
            if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listen_fd_, 1024) != 0)
                error = fmt::format("{}: listen on 0.0.0.0:{}: {}", name_, port, std::strerror(errno));
        } catch (const std::exception& e) {
            error = e.what();
        }
    }).join();
    if (!error.empty()) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error(error);
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
    signal_stop(stop_fd_);
    thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
}

void HttpServer::serve() {
    struct Conn {
        int fd;
        std::string in;
    };
    std::vector<Conn> conns;
    const std::string body = fmt::format("hello from {} through the VIP\n", name_);
    const std::string response = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Server: {}\r\n\r\n{}", body.size(),
        name_, body);
    std::vector<pollfd> fds;
    while (true) {
        fds.clear();
        fds.push_back({stop_fd_, POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
        if (fds[0].revents) break;
        if (fds[1].revents & POLLIN) {
            while (true) {
                const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;
                conns.push_back({fd, {}});
            }
        }
        std::vector<int> done;
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            auto& c = conns[i - 2];
            char buf[4096];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                done.push_back(c.fd);
                continue;
            }
            c.in.append(buf, static_cast<std::size_t>(n));
            bool close_after = false;
            for (auto end = c.in.find("\r\n\r\n"); end != std::string::npos; end = c.in.find("\r\n\r\n")) {
                const std::string head = c.in.substr(0, end);
                c.in.erase(0, end + 4);
                ++requests_;
                close_after = close_after || head.find("Connection: close") != std::string::npos ||
                              head.find("HTTP/1.0") != std::string::npos;
                // Small answers fit the socket buffer: a short send means the peer is gone.
                if (::send(c.fd, response.data(), response.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(response.size()))
                    close_after = true;
            }
            if (close_after || c.in.size() > 65536) done.push_back(c.fd);
        }
        for (int fd : done) {
            ::close(fd);
            std::erase_if(conns, [fd](const Conn& c) { return c.fd == fd; });
        }
    }
    for (const auto& c : conns) ::close(c.fd);
}

// ---- FlowPool

struct FlowPool::Flow {
    enum class State { Closed, Connecting, Idle, Awaiting };
    int fd = -1;
    State state = State::Closed;
    Clock::time_point since{}, next{};  // since: connect or request start; next: reopen or send
    std::string in, server;
};

FlowPool::FlowPool(const std::string& netns, const std::string& vip, int port, int count,
                   std::chrono::milliseconds period, std::chrono::milliseconds stall)
    : vip_(vip), port_(port), count_(count), period_(period), stall_(stall) {
    endpoint(vip, port);  // throws on a bad address
    phases_.emplace_back().phase = "start";
    last_answer_.assign(static_cast<std::size_t>(count), Clock::time_point{});
    answering_.assign(static_cast<std::size_t>(count), false);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this, netns] { run(netns); });
}

FlowPool::~FlowPool() {
    signal_stop(stop_fd_);
    thread_.join();
    ::close(stop_fd_);
}

void FlowPool::phase(const std::string& name) {
    std::lock_guard lock(mu_);
    FlowStats s;
    s.phase = name;
    phases_.push_back(s);
}

FlowStats FlowPool::current() const {
    std::lock_guard lock(mu_);
    auto s = phases_.back();
    if (!start_error_.empty() && s.first_error.empty()) s.first_error = start_error_;
    return s;
}

std::vector<FlowStats> FlowPool::phases() const {
    std::lock_guard lock(mu_);
    return phases_;
}

int FlowPool::answering() const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (bool a : answering_) n += a;
    return n;
}

int FlowPool::answered_since(Clock::time_point since) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto t : last_answer_) n += t >= since;
    return n;
}

void FlowPool::run(std::string netns) {
    try {
        enter_netns(netns);
    } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        start_error_ = e.what();
        return;
    }
    const auto vip = endpoint(vip_, port_);
    std::vector<Flow> flows(static_cast<std::size_t>(count_));
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < flows.size(); ++i)  // the first connects spread over one period
        flows[i].next = t0 + period_ * static_cast<long>(i) / count_;

    auto broken = [&](std::size_t i, long FlowStats::*counter, const std::string& why) {
        auto& f = flows[i];
        {
            std::lock_guard lock(mu_);
            auto& s = phases_.back();
            ++(s.*counter);
            if (s.first_error.empty()) s.first_error = fmt::format("flow {} ({}): {}", i, f.server, why);
            answering_[i] = false;
        }
        ::close(f.fd);
        f = Flow{};
        f.next = Clock::now() + 100ms;
    };
    auto answered = [&](std::size_t i, const std::string& server) {
        auto& f = flows[i];
        std::lock_guard lock(mu_);
        auto& s = phases_.back();
        ++s.answers;
        ++s.by_server[server];
        if (!f.server.empty() && f.server != server) {
            ++s.switched;
            if (s.first_error.empty())
                s.first_error = fmt::format("flow {}: answered by {} after {} on the same connection", i, server, f.server);
        }
        f.server = server;
        last_answer_[i] = Clock::now();
        answering_[i] = true;
    };
    const std::string request = fmt::format("GET /flow HTTP/1.1\r\nHost: {}\r\nUser-Agent: ecmp-flows\r\n\r\n", vip_);

    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    while (true) {
        const auto now = Clock::now();
        for (std::size_t i = 0; i < flows.size(); ++i) {
            auto& f = flows[i];
            using S = Flow::State;
            if (f.state == S::Closed && now >= f.next) {
                f.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                f.state = S::Connecting;
                f.since = now;
                {
                    std::lock_guard lock(mu_);
                    ++phases_.back().opened;
                }
                if (::connect(f.fd, reinterpret_cast<const sockaddr*>(&vip), sizeof vip) != 0 && errno != EINPROGRESS)
                    broken(i, &FlowStats::connect_failed, fmt::format("connect: {}", std::strerror(errno)));
            } else if (f.state == S::Idle && now >= f.next) {
                f.since = now;
                f.next = now + period_;
                if (::send(f.fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
                    const int err = errno;
                    broken(i, err == EPIPE || err == ECONNRESET ? &FlowStats::resets : &FlowStats::closed,
                           fmt::format("send: {}", std::strerror(err)));
                } else {
                    f.state = S::Awaiting;
                }
            } else if (f.state == S::Awaiting && now - f.since > stall_) {
                broken(i, &FlowStats::stalls, fmt::format("no answer within {} ms", stall_.count()));
            } else if (f.state == S::Connecting && now - f.since > stall_) {
                broken(i, &FlowStats::connect_failed, fmt::format("connect: no answer within {} ms", stall_.count()));
            }
        }
        fds.clear();
        which.clear();
        fds.push_back({stop_fd_, POLLIN, 0});
        for (std::size_t i = 0; i < flows.size(); ++i) {
            if (flows[i].fd < 0) continue;
            fds.push_back({flows[i].fd, static_cast<short>(flows[i].state == Flow::State::Connecting ? POLLOUT : POLLIN), 0});
            which.push_back(i);
        }
        if (::poll(fds.data(), fds.size(), 20) < 0 && errno != EINTR) break;
        if (fds[0].revents) break;
        for (std::size_t k = 1; k < fds.size(); ++k) {
            if (!fds[k].revents) continue;
            const std::size_t i = which[k - 1];
            auto& f = flows[i];
            if (f.state == Flow::State::Connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    broken(i, &FlowStats::connect_failed, fmt::format("connect: {}", std::strerror(err)));
                } else {
                    f.state = Flow::State::Idle;
                    f.next = Clock::now();
                }
                continue;
            }
            char buf[4096];
            const ssize_t n = ::recv(f.fd, buf, sizeof buf, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n < 0) {
                const int err = errno;
                broken(i, err == ECONNRESET || err == EPIPE ? &FlowStats::resets : &FlowStats::closed,
                       fmt::format("recv: {}", std::strerror(err)));
                continue;
            }
            if (n == 0) {
                broken(i, &FlowStats::closed, "closed by the server");
                continue;
            }
            f.in.append(buf, static_cast<std::size_t>(n));
            const auto end = f.in.find("\r\n\r\n");
            if (end == std::string::npos) continue;
            const std::string head = f.in.substr(0, end);
            std::size_t length = 0;
            if (auto p = head.find("Content-Length: "); p != std::string::npos)
                length = std::stoul(head.substr(p + 16));
            if (f.in.size() < end + 4 + length) continue;
            std::string server = "?";
            if (auto p = head.find("X-Server: "); p != std::string::npos)
                server = head.substr(p + 10, head.find("\r\n", p) - p - 10);
            f.in.erase(0, end + 4 + length);
            if (f.state == Flow::State::Awaiting) f.state = Flow::State::Idle;
            answered(i, server);
        }
    }
    for (auto& f : flows)
        if (f.fd >= 0) ::close(f.fd);
}

}  // namespace lvsd::ecmp
