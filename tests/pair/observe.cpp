#include "pair/observe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace lvsd::pair {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string read_proc(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
        return {};
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// "C000020A:1F90" -> "192.0.2.10:8080"
std::string decode_endpoint(const std::string& hex) {
    auto colon = hex.find(':');
    if (colon != 8) return hex;  // IPv6 ([...]:port) or unexpected: keep as is
    uint32_t a = std::stoul(hex.substr(0, 8), nullptr, 16);
    unsigned port = std::stoul(hex.substr(9), nullptr, 16);
    return fmt::format("{}.{}.{}.{}:{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, port);
}

bool enter_netns(const std::string& netns, std::string& error) {
    const std::string path = "/run/netns/" + netns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = fmt::format("open {}: {}", path, std::strerror(errno));
        return false;
    }
    // CLONE_NEWNET may be entered by one thread of a process; only this thread moves.
    const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
    if (!ok) error = fmt::format("setns {}: {}", path, std::strerror(errno));
    ::close(fd);
    return ok;
}

bool has_address(const std::string& ifname, const std::string& addr, std::string& error) {
    in_addr want{};
    ::inet_pton(AF_INET, addr.c_str(), &want);
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        error = fmt::format("getifaddrs: {}", std::strerror(errno));
        return false;
    }
    bool found = false;
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || ifname != i->ifa_name) continue;
        if (reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want.s_addr) found = true;
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace

std::optional<int> Table::weight(const std::string& service, const std::string& dest) const {
    auto s = dests.find(service);
    if (s == dests.end()) return std::nullopt;
    auto d = s->second.find(dest);
    if (d == s->second.end()) return std::nullopt;
    return d->second.weight;
}

std::string Table::str() const {
    if (dests.empty()) return "(empty)";
    std::string out;
    for (const auto& [svc, ds] : dests) {
        if (!out.empty()) out += "; ";
        auto sch = scheduler.find(svc);
        out += fmt::format("{} {}:", svc, sch == scheduler.end() ? "?" : sch->second);
        if (ds.empty()) out += " no real servers";
        for (const auto& [addr, d] : ds) out += fmt::format(" {} {} w{}", addr, d.forward, d.weight);
    }
    return out;
}

Table parse_ip_vs(const std::string& text) {
    Table t;
    std::istringstream in(text);
    std::string line, current;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string first;
        f >> first;
        if (first == "TCP" || first == "UDP" || first == "SCTP") {
            std::string ep, sched;
            f >> ep >> sched;
            current = first + " " + decode_endpoint(ep);
            t.scheduler[current] = sched;
            t.dests[current];
        } else if (first == "->" && !current.empty()) {
            std::string ep, fwd;
            int weight = 0;
            f >> ep >> fwd >> weight;
            if (ep == "RemoteAddress:Port") continue;  // the header line
            t.dests[current][decode_endpoint(ep)] = Table::Dest{fwd, weight};
        } else if (first == "FWM") {
            current.clear();  // not used by the scenario
        }
    }
    return t;
}

// ---- Watcher

Watcher::Watcher(std::array<std::string, 2> netns, std::string vip, std::string ifname)
    : vip_(std::move(vip)), ifname_(std::move(ifname)) {
    current_.t = Clock::now();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this, i, ns = netns[i]] { poll(i, ns); });
}

Watcher::~Watcher() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    stop_cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void Watcher::poll(int index, std::string netns) {
    std::string error;
    if (!enter_netns(netns, error)) {
        std::lock_guard lock(mu_);
        current_.lb[index].error = error;
        return;
    }
    for (;;) {
        LbView v;
        v.vip = has_address(ifname_, vip_, v.error);
        // Before ip_vs is loaded these files do not exist: an empty table.
        std::string ignored;
        v.table = parse_ip_vs(read_proc("/proc/thread-self/net/ip_vs", ignored));
        std::istringstream stats(read_proc("/proc/thread-self/net/ip_vs_stats", ignored));
        std::string line;
        for (int n = 0; n < 3 && std::getline(stats, line); ++n)
            if (n == 2) {
                std::istringstream f(line);
                std::string conns;
                f >> conns;
                if (!conns.empty()) v.conns = std::stoull(conns, nullptr, 16);
            }
        std::unique_lock lock(mu_);
        current_.lb[index] = std::move(v);
        current_.t = Clock::now();
        history_.push_back(current_);
        if (stop_cv_.wait_for(lock, kPollInterval, [&] { return stop_; })) return;
    }
}

Observation Watcher::latest() const {
    std::lock_guard lock(mu_);
    return current_;
}

std::optional<Observation> Watcher::first(Clock::time_point since,
                                          const std::function<bool(const Observation&)>& pred) const {
    std::lock_guard lock(mu_);
    for (const auto& o : history_)
        if (o.t >= since && pred(o)) return o;
    return std::nullopt;
}

bool Watcher::always(Clock::time_point from, Clock::time_point to,
                     const std::function<bool(const Observation&)>& pred) const {
    std::lock_guard lock(mu_);
    for (const auto& o : history_)
        if (o.t >= from && o.t <= to && !pred(o)) return false;
    return true;
}

// ---- one-shot namespace helpers

bool in_netns(const std::string& netns, const std::function<bool()>& fn) {
    bool result = false;
    std::string error;
    std::thread t([&] {
        if (enter_netns(netns, error)) result = fn();
    });
    t.join();
    if (!error.empty()) throw std::runtime_error(error);
    return result;
}

bool tcp_open(const std::string& netns, const std::string& addr, int port, std::chrono::milliseconds timeout) {
    return in_netns(netns, [&] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(port));
        ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
        if (!ok && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                ok = err == 0;
            }
        }
        ::close(fd);
        return ok;
    });
}

// ---- ClientLoop

ClientLoop::ClientLoop(const std::string& netns, const std::vector<std::string>& curl_args, Clock::time_point t0,
                       long expected_size)
    : t0_(t0), expected_size_(expected_size) {
    std::vector<std::string> argv{"ip", "netns", "exec", netns, "curl"};
    argv.insert(argv.end(), curl_args.begin(), curl_args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(fmt::format("fork for curl: {}", std::strerror(errno)));
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(fds[1], 2);
        ::execvp(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(devnull);
    ::close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
}

ClientLoop::~ClientLoop() { stop(); }

void ClientLoop::read_loop(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        const auto now = Clock::now();
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
            std::string line = buf.substr(0, nl);
            buf.erase(0, nl + 1);
            // exitcode|http_code|time_total|size_download|via|errormsg
            std::vector<std::string> f;
            std::size_t pos = 0;
            for (int i = 0; i < 5; ++i) {
                auto bar = line.find('|', pos);
                if (bar == std::string::npos) break;
                f.push_back(line.substr(pos, bar - pos));
                pos = bar + 1;
            }
            std::lock_guard lock(mu_);
            if (f.size() != 5) {
                unparsed_ += line + "\n";
                continue;
            }
            f.push_back(line.substr(pos));
            Request r;
            try {
                r.curl_exit = std::stoi(f[0]);
                r.http_code = std::stoi(f[1]);
                const Seconds took(std::stod(f[2]));
                r.end = std::chrono::duration_cast<Seconds>(now - t0_);
                r.start = r.end - took;
                const long size = std::stol(f[3]);
                // "1.1 proxy1 (tinyproxy/1.11.1)"
                std::istringstream via(f[4]);
                std::string version;
                via >> version >> r.proxy;
                r.ok = r.curl_exit == 0 && r.http_code == 200 && size == expected_size_;
                r.error = f[5];
                if (r.error.empty() && !r.ok)
                    r.error = fmt::format("HTTP {} with {} bytes, expected 200 with {}", r.http_code, size, expected_size_);
            } catch (const std::exception&) {
                unparsed_ += line + "\n";
                continue;
            }
            r.seq = static_cast<int>(requests_.size()) + 1;
            requests_.push_back(std::move(r));
        }
    }
    ::close(fd);
}

std::vector<Request> ClientLoop::requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

std::size_t ClientLoop::count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
}

std::string ClientLoop::unparsed() const {
    std::lock_guard lock(mu_);
    return unparsed_;
}

void ClientLoop::stop() {
    if (pid_ > 0) {
        ::kill(-pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 100; ++i) {  // 2 s, then SIGKILL
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }
    if (reader_.joinable()) reader_.join();
}

}  // namespace lvsd::pair
