#include "vrrp/tracked_processes.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace lvsd::vrrp {

bool process_matches(const ProcessPattern& p, const std::string& comm, const std::vector<std::string>& argv) {
    const std::string argv0 = argv.empty() ? std::string() : argv.front();
    const std::string base = argv0.substr(argv0.rfind('/') + 1);
    const bool name_ok = p.name.find('/') != std::string::npos
                             ? argv0 == p.name
                             : comm == p.name.substr(0, 15) || base == p.name;
    if (!name_ok) return false;
    if (p.match == ParamMatch::None) return true;
    const std::vector<std::string> rest(argv.empty() ? argv.end() : argv.begin() + 1, argv.end());
    switch (p.match) {
        case ParamMatch::Exact: return rest == p.args;
        case ParamMatch::Initial:
            return rest.size() >= p.args.size() && std::equal(p.args.begin(), p.args.end(), rest.begin());
        case ParamMatch::Partial:
            return std::search(rest.begin(), rest.end(), p.args.begin(), p.args.end()) != rest.end() ||
                   p.args.empty();
        case ParamMatch::None: break;
    }
    return true;
}

namespace {

struct Seen {
    std::string comm;
    std::vector<std::string> argv;
};

std::optional<Seen> read_process(const std::string& pid) {
    Seen s;
    {
        std::ifstream in("/proc/" + pid + "/comm");
        if (!in || !std::getline(in, s.comm)) return std::nullopt;
    }
    std::ifstream in("/proc/" + pid + "/cmdline", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string raw = ss.str();
    for (std::size_t start = 0; start < raw.size();) {
        const auto end = raw.find('\0', start);
        s.argv.push_back(raw.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return s;
}

}  // namespace

struct TrackedProcesses::Impl : std::enable_shared_from_this<Impl> {
    struct Tracked {
        TrackProcessConfig config;
        std::map<pid_t, std::shared_ptr<boost::asio::posix::stream_descriptor>> pids;  // watched by pidfd
        bool ok = false;
        bool reported = false;
        std::optional<std::chrono::steady_clock::time_point> pending_since;  // out of step with `ok` since
        std::shared_ptr<boost::asio::steady_timer> settle;
    };
    boost::asio::io_context& io;
    boost::asio::steady_timer scan_timer;
    std::map<std::string, Tracked> tracked;
    std::function<void(const std::string&, bool)> listener;
    std::chrono::milliseconds interval{1000};
    bool alive = true;

    explicit Impl(boost::asio::io_context& i) : io(i), scan_timer(i) {}

    bool in_range(const Tracked& t) const {
        const auto n = t.pids.size();
        return n >= t.config.quorum && (!t.config.quorum_max || n <= *t.config.quorum_max);
    }

    // The count changed: the verdict follows after `delay` of the same verdict.
    void judge(const std::string& name) {
        auto it = tracked.find(name);
        if (it == tracked.end()) return;
        Tracked& t = it->second;
        const bool now = in_range(t);
        if (t.reported && now == t.ok) {
            t.pending_since.reset();
            if (t.settle) t.settle->cancel();
            return;
        }
        if (!t.reported || t.config.delay.count() == 0) return settle(name, now);
        if (t.pending_since) return;  // already waiting
        t.pending_since = std::chrono::steady_clock::now();
        t.settle = std::make_shared<boost::asio::steady_timer>(io, t.config.delay);
        t.settle->async_wait([self = shared_from_this(), name](const boost::system::error_code& ec) {
            if (ec || !self->alive) return;
            auto it = self->tracked.find(name);
            if (it == self->tracked.end()) return;
            it->second.pending_since.reset();
            const bool now = self->in_range(it->second);
            if (now != it->second.ok) self->settle(name, now);
        });
    }

    void settle(const std::string& name, bool now) {
        Tracked& t = tracked.at(name);
        const bool changed = !t.reported || t.ok != now;
        t.ok = now;
        t.reported = true;
        if (!changed) return;
        spdlog::log(now ? spdlog::level::info : spdlog::level::warn, "vrrp track process {}: {} matching process{} ({})",
                    name, t.pids.size(), t.pids.size() == 1 ? "" : "es", now ? "in quorum" : "out of quorum");
        if (listener) listener(name, now);
    }

    void watch_exit(const std::string& name, pid_t pid) {
        const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        if (fd < 0) return;  // gone already
        auto d = std::make_shared<boost::asio::posix::stream_descriptor>(io, fd);
        tracked.at(name).pids[pid] = d;
        d->async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this(), name, pid, d](const boost::system::error_code& ec) {
                          if (ec || !self->alive) return;
                          auto it = self->tracked.find(name);
                          if (it == self->tracked.end()) return;
                          it->second.pids.erase(pid);
                          self->judge(name);
                      });
    }

    void scan() {
        DIR* dir = ::opendir("/proc");
        if (!dir) return;
        std::map<std::string, std::set<pid_t>> found;
        while (dirent* e = ::readdir(dir)) {
            if (!std::all_of(e->d_name, e->d_name + std::strlen(e->d_name), ::isdigit)) continue;
            auto seen = read_process(e->d_name);
            if (!seen) continue;
            const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
            for (auto& [name, t] : tracked)
                if (process_matches(t.config.pattern, seen->comm, seen->argv)) found[name].insert(pid);
        }
        ::closedir(dir);
        for (auto& [name, t] : tracked) {
            for (pid_t pid : found[name])
                if (!t.pids.count(pid)) watch_exit(name, pid);
            // A pid the walk no longer matches (exec'd into something else) is dropped.
            for (auto it = t.pids.begin(); it != t.pids.end();)
                it = found[name].count(it->first) ? std::next(it) : (it->second->close(), t.pids.erase(it));
            judge(name);
        }
    }

    void schedule() {
        scan_timer.expires_after(interval);
        scan_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || !self->alive) return;
            self->scan();
            self->schedule();
        });
    }
};

TrackedProcesses::TrackedProcesses(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}
TrackedProcesses::~TrackedProcesses() { stop(); }

void TrackedProcesses::apply(const std::vector<TrackProcessConfig>& processes) {
    auto& i = *impl_;
    std::map<std::string, Impl::Tracked> next;
    i.interval = std::chrono::milliseconds(1000);
    for (const auto& c : processes) {
        Impl::Tracked t;
        if (auto it = i.tracked.find(c.name); it != i.tracked.end() && it->second.config.pattern == c.pattern)
            t = std::move(it->second);
        t.config = c;
        next[c.name] = std::move(t);
        i.interval = std::min(i.interval, c.interval);
    }
    for (auto& [name, t] : i.tracked)
        if (!next.count(name))
            for (auto& [pid, d] : t.pids) d->close();
    i.tracked = std::move(next);
    i.alive = true;
    if (i.tracked.empty()) {
        i.scan_timer.cancel();
        return;
    }
    i.scan();
    i.schedule();
}

void TrackedProcesses::stop() {
    auto& i = *impl_;
    i.alive = false;
    i.scan_timer.cancel();
    for (auto& [name, t] : i.tracked) {
        for (auto& [pid, d] : t.pids) d->close();
        if (t.settle) t.settle->cancel();
    }
    i.tracked.clear();
}

void TrackedProcesses::on_change(std::function<void(const std::string&, bool)> listener) {
    impl_->listener = std::move(listener);
}

std::optional<bool> TrackedProcesses::ok(const std::string& name) const {
    auto it = impl_->tracked.find(name);
    if (it == impl_->tracked.end() || !it->second.reported) return std::nullopt;
    return it->second.ok;
}

std::optional<unsigned> TrackedProcesses::count(const std::string& name) const {
    auto it = impl_->tracked.find(name);
    if (it == impl_->tracked.end()) return std::nullopt;
    return static_cast<unsigned>(it->second.pids.size());
}

}  // namespace lvsd::vrrp
