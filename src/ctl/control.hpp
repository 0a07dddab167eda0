// The control channel between lvsd and lvsctl: a unix stream socket that only root can
// open (mode 0600 in a 0700 runtime directory). One request line in, one reply out,
// then the daemon closes the connection. The requests are in request.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "common/result.hpp"

namespace lvsd::ctl {

inline constexpr const char* kDefaultSocketPath = "/run/lvsd/lvsd.sock";

// Replies start with "ok\n" or "error\n", followed by the body.
struct Reply {
    bool ok = true;
    std::string body;
};

using RequestHandler = std::function<Reply(std::string_view request)>;

// Runs before the control socket is bound again (see ControlServer::start); an error
// (logged) leaves it unbound until the next look.
using RebindHook = std::function<Result<void>()>;

class ControlServer {
public:
    // How often the server looks whether its socket file is still there.
    static constexpr std::chrono::seconds kWatchInterval{2};

    // Binds `path` (a stale socket file is replaced), mode 0600, and serves requests on
    // `executor` until destroyed or stop() is called. When the socket file goes away
    // while lvsd runs (`rm -rf /run/lvsd`, tmpfiles cleaning, a second lvsd's exit that
    // deleted it), it notices within kWatchInterval, re-creates the directory (0700),
    // runs `rebind` (the daemon takes its lock file again and rewrites what it keeps
    // beside the socket) and binds the socket again, with a warning in the log. Should
    // that fail, the error is logged once and the next look tries again.
    static Result<std::unique_ptr<ControlServer>> start(boost::asio::any_io_executor executor,
                                                        const std::string& path,
                                                        RequestHandler handler, RebindHook rebind = {});
    ~ControlServer();
    void stop();

    struct Impl;

private:
    explicit ControlServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

// Blocking client used by lvsctl: sends one request, returns the reply.
Result<Reply> request(const std::string& path, std::string_view request);

}  // namespace lvsd::ctl
