#include "common/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace lvsd {

Result<void> replace_file(const std::string& path, std::string_view text) {
    const std::string tmp = path + ".new";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error(errno, "create {}: {} (the previous {} is kept)", tmp, std::strerror(errno), path);
    auto fail = [&](const char* step, int e, bool open) {
        if (open) ::close(fd);
        ::unlink(tmp.c_str());
        return make_error(e, "{} {}: {} (the previous {} is kept)", step, tmp, std::strerror(e), path);
    };
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("write", errno, true);
        done += static_cast<std::size_t>(n);
    }
    // Without fsync a crash after the rename can leave an empty file under the old name.
    if (::fsync(fd) != 0) return fail("fsync", errno, true);
    if (::close(fd) != 0) return fail("close", errno, false);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return make_error(e, "rename {} to {}: {} (the previous file is kept)", tmp, path, std::strerror(e));
    }
    const auto dir = std::filesystem::path(path).parent_path();
    if (int d = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        (void)::fsync(d);  // makes the rename durable; the file is valid either way
        ::close(d);
    }
    return {};
}

}  // namespace lvsd
