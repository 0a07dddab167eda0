#include "common/net.hpp"

#include <charconv>

namespace lvsd {

std::optional<IpAddress> parse_address(std::string_view text) {
    if (text.empty() || text.find_first_of(" \t%") != std::string_view::npos) return std::nullopt;
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    return a;
}

std::optional<Prefix> parse_prefix(std::string_view text, std::optional<uint8_t> default_length) {
    auto slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const unsigned max = addr->is_v4() ? 32 : 128;
    unsigned len = default_length.value_or(static_cast<uint8_t>(max));
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
    }
    if (len > max) return std::nullopt;
    return Prefix{*addr, static_cast<uint8_t>(len)};
}

std::string format_endpoint(const IpAddress& a, uint16_t port) {
    if (a.is_v6()) return fmt::format("[{}]:{}", a.to_string(), port);
    return fmt::format("{}:{}", a.to_string(), port);
}

}  // namespace lvsd
