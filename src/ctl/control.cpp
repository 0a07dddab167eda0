#include "ctl/control.hpp"
#include "ctl/request.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace lvsd::ctl {

namespace {
// A request is one short line (request.hpp); anything longer is not a client of ours.
constexpr size_t kMaxRequest = kMaxRequestLine + 1;  // and its newline

// Creates the socket's directory when missing, then binds and listens on `acceptor`;
// `bound` gets the socket file's identity.
Result<void> bind_socket(stream::acceptor& acceptor, const std::string& path, struct stat& bound) {
    // Outside systemd (RuntimeDirectory=lvsd) nobody has made the directory yet.
    if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
        std::string dir = path.substr(0, slash);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return make_error(errno, "control socket {}: cannot create {}: {}", path, dir, std::strerror(errno));
    }
    ::unlink(path.c_str());
    boost::system::error_code ec;
    acceptor.open(stream(), ec);
    // The socket is created 0600 from the start: no window in which others can connect.
    mode_t old_mask = ::umask(0177);
    if (!ec) acceptor.bind(stream::endpoint(path), ec);
    ::umask(old_mask);
    if (!ec) acceptor.listen(16, ec);
    if (!ec && ::stat(path.c_str(), &bound) != 0) ec.assign(errno, boost::system::system_category());
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        return make_error(ec.value(), "control socket {}: {}", path, ec.message());
    }
    return {};
}

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
    Impl(asio::any_io_executor ex, std::string p, RequestHandler h, RebindHook r)
        : acceptor(ex), watch(ex), path(std::move(p)), handler(std::move(h)), rebind(std::move(r)) {}

    // Still our socket at `path`? Else bind again (see ControlServer::start).
    void look() {
        watch.expires_after(kWatchInterval);
        watch.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) return;
            struct stat now {};
            const bool ours = ::stat(self->path.c_str(), &now) == 0 && now.st_dev == self->bound.st_dev &&
                              now.st_ino == self->bound.st_ino;
            if (!ours) self->bind_again();
            self->look();
        });
    }

    void bind_again() {
        auto r = rebind ? rebind() : Result<void>{};
        if (r) {
            boost::system::error_code ignored;
            acceptor.close(ignored);  // the accept loop on the old socket ends
            r = bind_socket(acceptor, path, bound);
        }
        if (!r) {
            if (r.error().message != rebind_error)
                spdlog::error("control socket {} was removed and cannot be made again: {}; lvsctl cannot reach "
                              "lvsd until it can (tried every {} s)",
                              path, r.error().message, kWatchInterval.count());
            rebind_error = r.error().message;
            return;
        }
        rebind_error.clear();
        spdlog::warn("control socket {} was removed while lvsd ran; it is listening there again", path);
        asio::co_spawn(acceptor.get_executor(), accept_loop(), asio::detached);
    }

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            if (ec) {
                spdlog::warn("control socket {}: accept failed: {}", path, ec.message());
                continue;
            }
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(stream::socket socket) {
        auto self = shared_from_this();
        asio::streambuf buf(kMaxRequest);
        auto [ec, n] = co_await asio::async_read_until(socket, buf, '\n',
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n - 1);
        Reply reply = handler(line);
        std::string out = (reply.ok ? "ok\n" : "error\n") + reply.body;
        co_await asio::async_write(socket, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    }

    stream::acceptor acceptor;
    asio::steady_timer watch;
    std::string path;
    RequestHandler handler;
    RebindHook rebind;
    struct stat bound {};      // the socket file we made
    std::string rebind_error;  // the last failed re-bind's, to say it once
    bool stopped = false;
};

Result<std::unique_ptr<ControlServer>> ControlServer::start(asio::any_io_executor executor,
                                                            const std::string& path,
                                                            RequestHandler handler, RebindHook rebind) {
    auto impl = std::make_shared<Impl>(executor, path, std::move(handler), std::move(rebind));
    if (auto r = bind_socket(impl->acceptor, path, impl->bound); !r) return r.error();
    asio::co_spawn(executor, impl->accept_loop(), asio::detached);
    impl->look();
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    impl_->watch.cancel();
    if (!impl_->acceptor.is_open()) return;
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    // Only our own socket: another lvsd may have bound the path since.
    struct stat now {};
    if (::stat(impl_->path.c_str(), &now) == 0 && now.st_dev == impl_->bound.st_dev &&
        now.st_ino == impl_->bound.st_ino)
        ::unlink(impl_->path.c_str());
}

Result<Reply> request(const std::string& path, std::string_view req) {
    asio::io_context io;
    stream::socket socket(io);
    boost::system::error_code ec;
    socket.connect(stream::endpoint(path), ec);
    if (ec) {
        namespace errc = boost::system::errc;
        const char* hint = ec == errc::permission_denied ? " (lvsctl must run as root)"
                           : (ec == errc::no_such_file_or_directory || ec == errc::connection_refused)
                               ? " (is lvsd running?)"
                               : "";
        return make_error(ec.value(), "cannot connect to {}: {}{}", path, ec.message(), hint);
    }
    std::string line = std::string(req) + "\n";
    asio::write(socket, asio::buffer(line), ec);
    if (ec) return make_error(ec.value(), "{}: send failed: {}", path, ec.message());
    std::string response;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    if (ec && ec != asio::error::eof)
        return make_error(ec.value(), "{}: read failed: {}", path, ec.message());
    auto nl = response.find('\n');
    if (nl == std::string::npos) return make_error(0, "{}: malformed reply from lvsd", path);
    return Reply{response.substr(0, nl) == "ok", response.substr(nl + 1)};
}

}  // namespace lvsd::ctl
