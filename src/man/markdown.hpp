// The README's Markdown, as far as the README uses it, rendered as man(7) roff, so that
// the man pages are generated from the README (one source: the key tables there are
// checked against the loader by tests/unit/config/reference_doc_test.cpp) and cannot
// drift from it.
//
// The subset: ATX headings (`#`..`####`), paragraphs, `- ` bullets and `1. ` numbered
// items (continuation lines indented), fenced code blocks (```), pipe tables (a header
// row, a `| --- |` row, `\|` for a literal bar), and inline `code`, **bold**, *italic*
// and [text](url). Anything else is passed through as text, escaped.
//
// Tables become tagged paragraphs (.TP) rather than tbl(1) tables: the configuration
// tables have five columns of prose that no 80-column terminal can lay out. The first
// cell is the tag; the middle cells follow as "header: cell" (empty ones left out); the
// last cell is the body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace lvsd::man {

using Lines = std::vector<std::string>;

Lines split_lines(std::string_view text);

// The heading level of a line (1 for `# x`, 4 for `#### x`), 0 when it is not a heading.
// Lines inside fenced code blocks are the caller's business (section() skips them).
int heading_level(std::string_view line);

// The body of the first section whose heading text (without the `#`s) is `title`:
// the lines after it up to the next heading of the same or a higher level. An error
// names the missing heading; `source` names the file for that message.
Result<Lines> section(const Lines& doc, std::string_view title, std::string_view source);

// One line of Markdown inline text as roff: backslashes escaped, `code` and **bold** in
// bold (with `-` as `\-`, so that options can be copied), *italic* in italics, links as
// "text <url>".
std::string inline_roff(std::string_view text);

// Block-level rendering. Headings of level <= sh_level become .SH, deeper ones .SS.
std::string to_roff(const Lines& body, int sh_level);

// The text a reader sees, near enough for tests: font escapes removed, `\-` as `-`,
// `\e` as `\`, `\&` and request lines (.TP, .PP, ...) dropped, .SH/.SS titles kept.
std::string roff_to_text(std::string_view roff);

}  // namespace lvsd::man
