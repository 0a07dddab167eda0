#include "daemon/logging.hpp"

#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lvsd::daemon {

namespace {

class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        // syslog(3) priorities: err=3, warning=4, info=6, debug=7.
        char p = '6';
        switch (msg.level) {
            case spdlog::level::critical: p = '2'; break;
            case spdlog::level::err: p = '3'; break;
            case spdlog::level::warn: p = '4'; break;
            case spdlog::level::info: p = '6'; break;
            default: p = '7'; break;
        }
        const char prefix[] = {'<', p, '>'};
        dest.append(prefix, prefix + 3);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<SyslogPriorityFlag>();
    }
};

}  // namespace

void setup_logging(spdlog::level::level_enum level) {
    auto logger = std::make_shared<spdlog::logger>(
        "lvsd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (std::getenv("JOURNAL_STREAM") != nullptr) {
        formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    } else {
        formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %-7l %v");
    }
    logger->set_formatter(std::move(formatter));
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace lvsd::daemon
