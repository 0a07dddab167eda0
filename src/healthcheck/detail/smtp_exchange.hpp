// SMTP_CHECK's I/O on a connected socket: the shell around SmtpSession (smtp.hpp).
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "healthcheck/probe.hpp"

namespace lvsd::healthcheck::detail {

// Reads replies and writes the commands SmtpSession asks for until it has a verdict.
// Not bounded by itself: probe() closes the socket at connect_timeout, and then reports
// `SMTP: no <waiting_for> within Nms` from what `waiting_for` holds at that moment
// ("greeting", "reply to HELO", "reply to QUIT").
boost::asio::awaitable<ProbeResult> smtp_exchange(boost::asio::ip::tcp::socket& sock, const CheckSpec& spec,
                                                  std::string& waiting_for);

}  // namespace lvsd::healthcheck::detail
