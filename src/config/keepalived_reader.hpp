// keepalived.conf as keepalived 2.2.7 reads it: a tree of statements with FILE:LINE.
//
// keepalived's grammar is line-oriented (lib/parser.c): a line is a keyword and its
// arguments; `{` opens the block of the statement before it (on the same line or the
// next), `}` closes it, and keepalived splits a line at braces, so that
// `authentication { auth_type PASS auth_pass x }` is the statement `authentication` with
// one child `auth_type PASS auth_pass x` (keepalived then never sets auth_pass). Before
// that the text goes through the same pre-processing keepalived does, in its order:
//   - a line longer than 1022 characters is read in pieces of 1023, each a line (an
//     error: keepalived reads with fgets into 1024 bytes);
//   - comments: `!` or `#` up to the end of the line, outside a quoted string. keepalived's
//     VRRP and checker processes read a decommented copy made by the parent and decomment
//     it again; theirs is the reading that counts, so a `\#` is a comment too (a warning)
//     and a comment-only line ends a multi-line definition;
//   - `@NAME rest` / `@^NAME rest` conditional lines, kept when NAME is (is not) the
//     host name given in ReadOptions;
//   - `$NAME=value` definitions (a `\` at the end continues the value on the next
//     lines; the first line without one, or an empty or comment line, ends it) and uses:
//     `${NAME}` anywhere, `$NAME` followed by a blank, `,`, `)` or the end; a multi-line
//     value only at the end of a line. Standard names: _PWD, _INSTANCE, _HASH, _BANG,
//     _RANDOM (read as its lower bound, with a warning);
//   - `~SEQ(VAR, [START,] [STEP,] END) TEXT` and `~LST(VAR, VALUE...) TEXT` generators;
//   - `include GLOB` (the rest of the line, after definitions; relative to the including
//     file's directory; every match in sorted order). A missing file is a warning, as
//     keepalived logs it, unless includem/includew/includea or global_defs'
//     include_check make it an error, as they do for keepalived.
// Quoted strings ("...") are one argument with the quotes removed.
//
// The reader knows no keywords: any statement may take a `{`. Which keywords take blocks,
// and what keepalived does with a block after one that takes none, is the importer's.
//
// Pure except for reading the files named (the top file and its includes). Every limit
// below is an error with FILE:LINE, never a crash or an unbounded loop; after 100
// errors reading stops.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"  // Diagnostic

namespace lvsd::config::keepalived {

// One statement: `keyword arg...` and, when a `{ ... }` followed it, the statements in it.
// Entries of list blocks (`virtual_ipaddress { 192.0.2.1/24 dev eth0 }`) are statements
// too: keyword "192.0.2.1/24", args {"dev", "eth0"}.
struct Statement {
    std::string keyword;
    std::vector<std::string> args;       // quotes removed, definitions expanded
    // The statement's whole text as keepalived's keyword handlers see it (after comments,
    // definitions and brace splitting): commands are split from it again, with escapes.
    std::string text;
    bool has_block = false;              // a `{` followed (children may still be empty)
    std::vector<Statement> children;     // in file order
    std::string file;                    // after include: the included file's path
    int line = 0;                        // 1-based, of the keyword
    // Comment text (without the `#`/`!` and one following space) that belongs to this
    // statement: whole-line comments directly above it (no blank line between), then a
    // comment at the end of its own line. The importer carries these over.
    std::vector<std::string> comments;
};

// A comment that belongs to no statement (see ReadResult::unattached_comments).
struct Comment {
    std::string file;
    int line = 0;      // 1-based
    std::string text;  // without the `#`/`!` and one following space
};

struct ReadOptions {
    // The name @NAME lines are matched against (and $_INSTANCE); empty means the
    // machine's host name up to its first '.' (gethostname), as keepalived does when
    // -i/--config-id is not given (keepalived/core/main.c).
    std::string host_name;
    // Limits against hostile input; exceeding one is an error naming the place.
    std::size_t max_file_bytes = 4 * 1024 * 1024;  // per file, before expansion
    std::size_t max_total_bytes = 16 * 1024 * 1024;  // all files, and the lines definitions
                                                    // and ~SEQ/~LST expand to
    int max_include_depth = 8;                      // an include loop hits this
    int max_block_depth = 32;
    int max_expansions_per_line = 64;               // $NAME inside $NAME ...
    // Statements in the tree (each costs a few hundred bytes of memory: a file of short
    // lines, or a ~SEQ, could otherwise fill gigabytes within max_total_bytes).
    std::size_t max_statements = 500000;
};

struct ReadResult {
    std::vector<Statement> statements;            // top level, in file order
    std::vector<Diagnostic> errors;       // keepalived would refuse or misread
    std::vector<Diagnostic> warnings;     // keepalived would log and go on
    // Comments not attached to any statement (e.g. at the end of a file or a block, above
    // a blank line, on a `}` line or a definition line), in file order.
    std::vector<Comment> unattached_comments;
    bool ok() const { return errors.empty(); }
};

// Reads `path` and everything it includes. A file that cannot be opened is an error
// ("FILE: cannot open: reason", line 0 for the top file, the include's line otherwise).
ReadResult read_file(const std::string& path, const ReadOptions& options = {});
// Reads text; `name` stands for the file in diagnostics, and relative includes resolve
// against `base_dir` (empty: the current directory).
ReadResult read_string(std::string_view text, const std::string& name, const ReadOptions& options = {},
                       const std::string& base_dir = {});

}  // namespace lvsd::config::keepalived
