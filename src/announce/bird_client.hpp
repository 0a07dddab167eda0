// A client of BIRD 2's control socket (bird -s PATH; Debian: /run/bird/bird.ctl, mode 0660
// root:bird): one call connects, asks what lvsd needs to show and to wait on, and
// disconnects. Read-only: it sends only `show` commands, never `configure` or `disable`.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "announce/bird_reply.hpp"
#include "common/result.hpp"

namespace lvsd::announce {

// What BIRD says at one moment.
struct BirdView {
    std::string version;                  // "2.0.12"
    std::vector<BirdProtocol> protocols;  // `show protocols`, in BIRD's order
    // Per BGP protocol that is up: the networks it exports (`show route export NAME`),
    // i.e. what the peer is told right now. A BGP protocol that is not up exports nothing
    // and has no entry.
    std::map<std::string, std::vector<Prefix>> exported;
    // `show bfd sessions` (empty when BIRD runs no BFD protocol).
    std::vector<BirdBfdSession> bfd;
};

// Reads a BirdView from the socket at `socket_path`, all of it within `timeout` (steady
// clock; 1 s is plenty for a local BIRD, which answers in about a millisecond).
// Errors (Error::code is an errno value; the message names the socket and the reason):
//   ENOENT        the socket does not exist (BIRD not running, or bird_socket is wrong)
//   EACCES        no permission to connect (the socket is root:bird 0660)
//   ECONNREFUSED  nothing listens on it (BIRD died and left the file)
//   ETIMEDOUT     BIRD did not answer everything within `timeout`
//   EPROTO        the peer's reply is not BIRD's protocol (or over the limits in bird_reply.hpp)
//   EREMOTEIO     BIRD answered a command with an error (its 8xxx/9xxx line is quoted)
boost::asio::awaitable<Result<BirdView>> read_bird_view(std::string socket_path,
                                                        std::chrono::milliseconds timeout);

}  // namespace lvsd::announce
