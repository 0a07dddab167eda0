// lvsd(8), lvsctl(8) and lvsd.conf(5), made from README.md (markdown.hpp): each page is a
// fixed frame (NAME, SYNOPSIS, FILES, SEE ALSO) around sections of the README, so the
// README stays the one text that the code's tests keep honest
// (tests/unit/config/reference_doc_test.cpp for the keys, tests/unit/man for the pages).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lvsd::man {

struct Page {
    std::string file;  // "lvsd.8", "lvsctl.8", "lvsd.conf.5"
    std::string roff;  // man(7) source
};

// `source` names the README in error messages (a section the pages need is missing);
// `version` goes into each page's footer.
Result<std::vector<Page>> render_pages(std::string_view readme, std::string_view source, std::string_view version);

}  // namespace lvsd::man
