// The control channel between lvsd and lvsctl: a unix stream socket that only root can
// open (mode 0600 in a 0700 runtime directory). One request line in, one reply out,
// then the daemon closes the connection. The requests are in request.hpp.
#pragma once

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

class ControlServer {
public:
    // Binds `path` (a stale socket file is replaced), mode 0600, and serves requests on
    // `executor` until destroyed or stop() is called.
    static Result<std::unique_ptr<ControlServer>> start(boost::asio::any_io_executor executor,
                                                        const std::string& path,
                                                        RequestHandler handler);
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
