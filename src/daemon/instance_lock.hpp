// One lvsd per configuration: a second `lvsd -f` with the same control socket (someone
// debugging by hand while the service runs) would take the socket over and run VRRP
// beside the first, and the first's exit would delete the second's socket. The lock is
// an flock(2) on a file beside the control socket (/run/lvsd/lvsd.sock ->
// /run/lvsd/lvsd.lock), held for the daemon's life. The kernel drops it when the holder
// dies, however it dies, so a stale file from a crashed lvsd is simply locked again.
#pragma once

#include <string>

#include "common/result.hpp"

namespace lvsd::daemon {

// The lock file for a control socket path: /run/lvsd/lvsd.sock -> /run/lvsd/lvsd.lock.
std::string lock_file_for(const std::string& control_socket);

class InstanceLock {
public:
    // Takes the lock without waiting (creating the file, and its directory 0700 as the
    // control socket's). Errors: another process holds it ("another lvsd (pid N) runs
    // with ..."; the pid is what the holder wrote in the file), or the file cannot be
    // created or locked (errno's message).
    static Result<InstanceLock> acquire(const std::string& path);

    InstanceLock(InstanceLock&& other) noexcept;
    InstanceLock& operator=(InstanceLock&& other) noexcept;
    InstanceLock(const InstanceLock&) = delete;
    InstanceLock& operator=(const InstanceLock&) = delete;
    // Whether `path` still names the locked file (false once it was removed, e.g. with
    // its directory: then anyone could lock a new file there).
    bool holds(const std::string& path) const;

    // Releases the lock; the file stays (removing it would race with a starting lvsd
    // that has opened it but not yet locked it).
    ~InstanceLock();

private:
    explicit InstanceLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace lvsd::daemon
