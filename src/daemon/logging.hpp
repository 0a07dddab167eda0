#pragma once

#include <spdlog/common.h>

namespace lvsd::daemon {

// Logs go to stderr. Under systemd (JOURNAL_STREAM set) each line starts with the
// sd-daemon(3) priority prefix `<N>` and carries no timestamp, so journald records the
// right priority and its own time; on a terminal lines carry a local timestamp.
void setup_logging(spdlog::level::level_enum level);

}  // namespace lvsd::daemon
