// lvsd's own small state files (the ownership file, the operator overrides) are replaced,
// never edited in place: a crash, a full disk or a failing write must leave the previous
// file whole, because the next start reads it to decide what it owns and what the
// operator asked for.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lvsd {

// Writes `text` to PATH.new (mode 0600, O_NOFOLLOW), fsyncs it, renames it over `path`
// and fsyncs the directory. On any error (ENOSPC from write() on tmpfs or from fsync()
// elsewhere, EIO, EACCES…) the temporary file is removed so that it holds no space, the
// previous `path` is untouched, and the error names the step, the file and that the
// previous one is kept.
Result<void> replace_file(const std::string& path, std::string_view text);

}  // namespace lvsd
