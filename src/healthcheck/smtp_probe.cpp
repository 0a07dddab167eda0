#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "healthcheck/detail/smtp_exchange.hpp"
#include "healthcheck/smtp.hpp"

// GCC 12's false positive on Asio's coroutine frames (GCC bug 109224), as in probe.cpp.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace lvsd::healthcheck::detail {

namespace asio = boost::asio;
using boost::system::error_code;

asio::awaitable<ProbeResult> smtp_exchange(asio::ip::tcp::socket& sock, const CheckSpec& spec,
                                           std::string& waiting_for) {
    constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
    SmtpSession session(spec.helo_name);
    std::array<char, 1024> buf;  // replies are kept by the session, bounded there
    while (!session.done()) {
        waiting_for = session.waiting_for();
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), kNoThrow);
        if (ec == asio::error::eof) {
            session.closed();
            break;
        }
        if (ec) {
            const auto why = ec == asio::error::connection_reset ? std::string("connection reset by the server")
                                                                 : fmt::format("error {}", ec.message());
            co_return ProbeResult{false, fmt::format("SMTP: {} while waiting for the {}", why, waiting_for)};
        }
        session.feed(std::string_view(buf.data(), n));
        if (const std::string command = session.take_send(); !command.empty()) {
            if (auto [wec, w] = co_await asio::async_write(sock, asio::buffer(command), kNoThrow); wec)
                co_return ProbeResult{false, fmt::format("SMTP: error while sending {}: {}",
                                                         command.substr(0, 4), wec.message())};
        }
    }
    co_return ProbeResult{session.ok(), session.reason()};
}

}  // namespace lvsd::healthcheck::detail
