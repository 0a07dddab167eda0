// keepalived's vrrp_track_file: a file that holds a number; the instances that track it
// add number × weight to their priority (priority.hpp: weight 0 and a number other than
// 0 is FAULT). The files are watched with inotify on their directories (so that a file
// written elsewhere and renamed into place, or deleted and created again, is seen), and
// read again on every change. Single-threaded, on the io_context it is given.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"

namespace lvsd::vrrp {

// What a track file holds: an optional sign and decimal digits, surrounded by blanks
// (a trailing newline is usual). Anything else, an empty file or no file is 0, as
// keepalived reads it (strtol); `ok` is false then so the caller can say so.
struct TrackFileValue {
    long value = 0;
    bool ok = true;
};
TrackFileValue parse_track_file(std::string_view text);

struct TrackFileConfig {
    std::string name;
    std::string path;                // absolute
    std::optional<long> init_value;  // keepalived's init_file: write it when the file is missing
    bool init_overwrite = false;     // ... or always, at start
    friend bool operator==(const TrackFileConfig&, const TrackFileConfig&) = default;
};

class TrackedFiles {
public:
    explicit TrackedFiles(boost::asio::io_context& io);
    ~TrackedFiles();
    TrackedFiles(const TrackedFiles&) = delete;
    TrackedFiles& operator=(const TrackedFiles&) = delete;

    // Makes the watched set exactly `files` (start and reload) and reads each now. The
    // error names the file whose directory cannot be watched.
    Result<void> apply(const std::vector<TrackFileConfig>& files);
    void stop();

    // Called with the file's name and its new value on every change.
    void on_change(std::function<void(const std::string&, long)> listener);
    std::optional<long> value(const std::string& name) const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp
