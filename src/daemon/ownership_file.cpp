#include "daemon/ownership_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace lvsd::daemon {

std::string ownership_file_for(const std::string& control_socket) {
    return std::filesystem::path(control_socket).replace_extension(".owned").string();
}

OwnershipRead read_ownership(const std::string& path) {
    OwnershipRead out;
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty() || line.front() == '#') continue;
        if (auto key = ipvs::parse_service_key(line))
            out.owned.insert(*key);
        else
            out.problems.push_back(fmt::format("{}:{}: not an IPVS service: \"{}\"", path, n, line));
    }
    return out;
}

Result<void> write_ownership(const std::string& path, const std::set<ipvs::ServiceKey>& owned) {
    std::string text = "# IPVS services lvsd created or adopted; read back at start. Written by lvsd.\n";
    for (const auto& key : owned) text += fmt::format("{}\n", key);
    // Write, fsync, rename: on a full or failing disk the rename never happens, the old
    // file stays whole, and the partial temporary file is removed again so that it does
    // not hold the space the next attempt needs.
    const std::string tmp = path + ".new";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error(errno, "write {}: {}", tmp, std::strerror(errno));
    auto fail = [&](const char* step) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return make_error(e, "{} {}: {} (the previous {} is kept)", step, tmp, std::strerror(e), path);
    };
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("write");
        done += static_cast<std::size_t>(n);
    }
    // tmpfs and most file systems report ENOSPC at write(); others only here.
    if (::fsync(fd) != 0) return fail("fsync");
    if (::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return make_error(e, "close {}: {} (the previous {} is kept)", tmp, std::strerror(e), path);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return make_error(e, "rename {} to {}: {}", tmp, path, std::strerror(e));
    }
    return {};
}

}  // namespace lvsd::daemon
