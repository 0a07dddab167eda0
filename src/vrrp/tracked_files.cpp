#include "vrrp/tracked_files.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lvsd::vrrp {

TrackFileValue parse_track_file(std::string_view text) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    if (text.empty()) return {0, false};
    if (text.front() == '+') text.remove_prefix(1);
    long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return {0, false};
    return {v, true};
}

struct TrackedFiles::Impl : std::enable_shared_from_this<Impl> {
    struct Watched {
        TrackFileConfig config;
        long value = 0;
    };
    boost::asio::posix::stream_descriptor fd;
    std::map<std::string, Watched> files;      // by name
    std::map<std::string, int> dir_watches;    // directory -> watch descriptor
    std::function<void(const std::string&, long)> listener;
    bool alive = true;

    explicit Impl(boost::asio::io_context& io) : fd(io) {}

    static std::string dir_of(const std::string& path) {
        const auto slash = path.rfind('/');
        return slash == 0 ? "/" : path.substr(0, slash);
    }

    long read(const Watched& w) const {
        std::ifstream in(w.config.path);
        if (!in) return 0;
        std::stringstream ss;
        ss << in.rdbuf();
        auto v = parse_track_file(ss.str().substr(0, 64));
        if (!v.ok)
            spdlog::warn("vrrp track file {}: {} does not hold a number: counted as 0", w.config.name, w.config.path);
        return v.value;
    }

    void refresh(Watched& w, bool tell) {
        const long v = read(w);
        if (v == w.value) return;
        spdlog::info("vrrp track file {}: {} now holds {} (was {})", w.config.name, w.config.path, v, w.value);
        w.value = v;
        if (tell && listener) listener(w.config.name, v);
    }

    void wait() {
        fd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                          if (ec || !self->alive) return;
                          self->drain();
                          if (self->alive) self->wait();
                      });
    }

    void drain() {
        alignas(inotify_event) char buf[4096];
        std::map<std::string, bool> touched;  // directories with an event
        for (;;) {
            const ssize_t n = ::read(fd.native_handle(), buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
                auto* e = reinterpret_cast<inotify_event*>(buf + off);
                for (auto& [dir, wd] : dir_watches)
                    if (wd == e->wd) touched[dir] = true;
                off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
            }
        }
        // Cheap and robust: every file in a directory that saw an event is read again
        // (an overflow, IN_Q_OVERFLOW, reads them all).
        for (auto& [name, w] : files)
            if (touched.count(dir_of(w.config.path)) || touched.empty()) refresh(w, true);
    }
};

TrackedFiles::TrackedFiles(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}
TrackedFiles::~TrackedFiles() { stop(); }

Result<void> TrackedFiles::apply(const std::vector<TrackFileConfig>& wanted) {
    auto& i = *impl_;
    if (!i.fd.is_open()) {
        const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) return make_error(errno, "vrrp track files: inotify_init1: {}", std::strerror(errno));
        i.fd.assign(fd);
        i.alive = true;
        i.wait();
    }
    std::map<std::string, Impl::Watched> next;
    std::map<std::string, int> dirs;
    for (const auto& c : wanted) {
        const std::string dir = Impl::dir_of(c.path);
        if (!dirs.count(dir)) {
            if (auto it = i.dir_watches.find(dir); it != i.dir_watches.end()) {
                dirs[dir] = it->second;
            } else {
                const int wd = ::inotify_add_watch(i.fd.native_handle(), dir.c_str(),
                                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM);
                if (wd < 0)
                    return make_error(errno, "vrrp track file {}: watch {}: {}", c.name, dir, std::strerror(errno));
                dirs[dir] = wd;
            }
        }
        if (c.init_value && (c.init_overwrite || ::access(c.path.c_str(), F_OK) != 0))
            if (!(std::ofstream(c.path) << *c.init_value << '\n'))
                spdlog::warn("vrrp track file {}: cannot write init_file value to {}", c.name, c.path);
        Impl::Watched w{c, 0};
        if (auto it = i.files.find(c.name); it != i.files.end()) w.value = it->second.value;
        next[c.name] = w;
    }
    for (auto& [dir, wd] : i.dir_watches)
        if (!dirs.count(dir)) ::inotify_rm_watch(i.fd.native_handle(), wd);
    i.dir_watches = std::move(dirs);
    i.files = std::move(next);
    for (auto& [name, w] : i.files) w.value = i.read(w);
    return {};
}

void TrackedFiles::stop() {
    auto& i = *impl_;
    i.alive = false;
    if (i.fd.is_open()) i.fd.close();
    i.files.clear();
    i.dir_watches.clear();
}

void TrackedFiles::on_change(std::function<void(const std::string&, long)> listener) {
    impl_->listener = std::move(listener);
}

std::optional<long> TrackedFiles::value(const std::string& name) const {
    auto it = impl_->files.find(name);
    if (it == impl_->files.end()) return std::nullopt;
    return it->second.value;
}

}  // namespace lvsd::vrrp
