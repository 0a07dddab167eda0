// At most one warning per slot every `every`, with the count of those held back: a flood
// of bad packets (or a send error repeating with every advert) must not flood the log.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lvsd::vrrp::detail {

template <std::size_t Slots>
class LogLimit {
public:
    explicit LogLimit(std::chrono::steady_clock::duration every) : every_(every) {}

    template <class... Args>
    void warn(std::size_t slot, fmt::format_string<Args...> f, Args&&... args) {
        const auto now = std::chrono::steady_clock::now();
        if (logged_[slot] != std::chrono::steady_clock::time_point{} && now - logged_[slot] < every_) {
            ++quiet_[slot];
            return;
        }
        const auto quiet = quiet_[slot];
        logged_[slot] = now;
        quiet_[slot] = 0;
        if (quiet)
            spdlog::warn("{} (and {} more like it not logged)", fmt::format(f, std::forward<Args>(args)...), quiet);
        else
            spdlog::warn(f, std::forward<Args>(args)...);
    }

private:
    std::chrono::steady_clock::duration every_;
    std::array<std::chrono::steady_clock::time_point, Slots> logged_{};
    std::array<uint64_t, Slots> quiet_{};
};

}  // namespace lvsd::vrrp::detail
