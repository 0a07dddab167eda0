// Address value types shared by every module. The pure core uses Asio's address
// class only as a value (parse, compare, bytes); no socket code comes with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace lvsd {

using IpAddress = boost::asio::ip::address;

enum class Family : uint8_t { V4, V6 };

inline Family family_of(const IpAddress& a) { return a.is_v4() ? Family::V4 : Family::V6; }

// An address with a prefix length, as in `192.0.2.10/24`.
struct Prefix {
    IpAddress address;
    uint8_t length = 32;

    friend bool operator==(const Prefix&, const Prefix&) = default;
};

// Strict parsers: no surrounding spaces, no zone ids, prefix within the family's range.
std::optional<IpAddress> parse_address(std::string_view text);
// `default_length` applies when the text has no `/N` (the host length when unset).
std::optional<Prefix> parse_prefix(std::string_view text, std::optional<uint8_t> default_length = {});

// `ip:port` for v4 and `[ip]:port` for v6, as operators read them in ipvsadm output.
std::string format_endpoint(const IpAddress& a, uint16_t port);

}  // namespace lvsd

template <>
struct fmt::formatter<lvsd::IpAddress> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::IpAddress& a, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};

template <>
struct fmt::formatter<lvsd::Prefix> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::Prefix& p, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(
            fmt::format("{}/{}", p.address.to_string(), p.length), ctx);
    }
};
