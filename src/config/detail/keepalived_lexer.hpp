// The first half of the keepalived reader: keepalived 2.2.7's read_line() (lib/parser.c)
// turned into a stream of events. It does everything keepalived does before a line
// reaches a keyword handler, in keepalived's order:
//   physical line (in pieces of at most 1023 characters: keepalived's fgets(buf, 1024))
//   -> decomment, twice: once as keepalived's parent process writes its consolidated
//      copy, once as the VRRP and checker processes read that copy (`!`/`#` outside
//      "..."; `\#` and `\!` escape them only in the first pass)
//   -> multi-line definition bodies (`$NAME=value \` continues on the next line; the
//      first line without a trailing `\`, or an empty or comment-only line, ends it)
//   -> `@NAME` / `@^NAME` (kept when NAME is / is not the host name)
//   -> `$NAME=value` definitions, `~SEQ(...)` / `~LST(...)` generators
//   -> `$NAME` / `${NAME}` uses (rescanned until nothing changes, as keepalived does)
//   -> `include GLOB` (also includer/includem/includew/includeb/includea)
//   -> split at the first `{` or `}` outside quotes: every brace becomes a piece of its
//      own, so `a { b c }` is the pieces "a", "{", "b c", "}".
// The tree builder (keepalived_reader.cpp) consumes the events; comments and blank lines
// are events too, so that it can attach comments to statements.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/keepalived_reader.hpp"

namespace lvsd::config::keepalived::detail {

struct LexEvent {
    enum class Kind : uint8_t {
        Code,     // text: one piece: "{", "}", or a statement line with no brace outside quotes
        Comment,  // text: a whole-line comment (without `#`/`!` and one following space)
        Blank,    // an empty line: ends a run of comments above a statement
        Break,    // a line that is no statement (definition, include, ~SEQ): same effect
    };
    Kind kind = Kind::Code;
    std::string text;
    std::string file;
    int line = 0;
    // Code and Break: the comment at the end of the physical line, on its first piece only.
    std::optional<std::string> trailing_comment;
};

// keepalived's include_t flags (lib/parser.c): which include problems are errors
// rather than log lines.
constexpr unsigned kIncludeRead = 0x01;      // unreadable file, directory, executable
constexpr unsigned kIncludeMatch = 0x02;     // a file named without wildcards is missing
constexpr unsigned kIncludeWildcard = 0x04;  // a wildcard matches nothing
constexpr unsigned kIncludeBrace = 0x08;     // a {a,b} alternative is missing

class Lexer {
public:
    using Sink = std::function<void(LexEvent&&)>;
    Lexer(const ReadOptions& options, ReadResult& result, Sink sink);
    ~Lexer();
    Lexer(const Lexer&) = delete;
    Lexer& operator=(const Lexer&) = delete;

    // Reads the top file (keepalived refuses one it cannot open, a directory or an
    // executable file) or a text standing for it, and everything they include.
    void run_file(const std::string& path);
    void run_text(std::string_view text, const std::string& name, const std::string& base_dir);

    // `include_check` in global_defs changes which include problems are errors for the
    // includes after it, until the end of the file it is in (lib/parser.c include_check_set).
    void set_include_check(const std::vector<std::string>& args, const std::string& file, int line);

    // Diagnostics; error() stops reading after too many (hostile input stays bounded).
    void error(const std::string& file, int line, std::string message);
    void warning(const std::string& file, int line, std::string message);
    // A fatal error: nothing more is read.
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

private:
    struct Source;
    struct Def;
    struct Seq;
    struct Pending;

    void run();
    bool push_source(const std::string& path, std::string data, int depth);
    bool read_physical(std::string& out);
    bool charge(std::size_t bytes);
    std::optional<std::string> decomment(std::string& s, bool report_quote);
    bool check_definition(const std::string& buf);
    bool replace_params(std::string& buf, int& expansions, bool& failed);
    std::optional<std::string> def_value(Def& def, std::string_view params);
    bool add_seq(const std::string& buf);
    bool add_lst(const std::string& buf);
    bool next_generated(std::string& buf);
    bool is_include(const std::string& buf) const;
    void do_include(const std::string& buf, std::optional<std::string> trailing);
    std::string split_braces(std::string& buf);
    void emit(LexEvent::Kind kind, std::string text, std::optional<std::string> trailing = std::nullopt);

    const ReadOptions& options_;
    ReadResult& result_;
    Sink sink_;
    std::string host_name_;
    std::vector<std::unique_ptr<Source>> sources_;
    std::map<std::string, Def, std::less<>> defs_;
    std::vector<Seq> seqs_;
    std::unique_ptr<Pending> pending_;
    std::string file_;  // where the current line came from
    int line_ = 0;
    std::size_t total_bytes_ = 0;
    unsigned include_check_ = 0;
    int errors_ = 0;
    bool stopped_ = false;
};

struct Lexer::Source {
    std::string path;
    std::string dir;  // includes are relative to it (keepalived chdir()s there)
    std::string data;
    std::size_t pos = 0;
    int line_no = 0;
    bool continuing = false;  // in the middle of a line longer than keepalived reads at once
    int depth = 0;             // 0: the top file
    unsigned saved_check = 0;  // include_check to restore when this file ends
};

struct Lexer::Def {
    enum class Fn : uint8_t { None, Pwd, Instance, Random };
    std::string value;  // a multi-line value has its lines separated by '\n'
    bool multiline = false;
    Fn fn = Fn::None;
};

struct Lexer::Seq {
    std::string var;  // ~SEQ
    long long next = 0, step = 1, last = 0;
    bool hex = false;
    std::vector<std::string> vars;               // ~LST: the variables
    std::vector<std::vector<std::string>> sets;  // ~LST: one value per variable, per line
    std::size_t next_set = 0;
    std::string text;
};

// What read_line() keeps between calls (its static variables).
struct Lexer::Pending {
    std::optional<std::string> residue;  // the rest of a line after a brace
    std::optional<std::string> ml_rest;  // lines of a multi-line definition still to come
    struct Saved {
        std::string rest;
        std::size_t seq_depth;
    };
    std::vector<Saved> ml_stack;  // an outer multi-line expansion, suspended
    std::size_t ml_seq_depth = 0;
    std::string defining;  // the multi-line definition being read, if any
};

// Reads a configuration file as keepalived's check_glob_file() and fopen() accept it: a
// regular file without any execute bit, at most `cap` bytes (lvsd's limit, `too_big`).
// Otherwise nothing, and `why` says why ("is a directory", "cannot open: ...").
std::optional<std::string> load_config_file(const std::string& path, std::size_t cap, std::string& why,
                                            bool& too_big);

// Splits a statement piece into words as keepalived's alloc_strvec_r() does: blanks
// separate words, "..." is one word without its quotes, a `"` also ends an unquoted
// word. An unmatched quote drops the rest of the line (decomment has reported it).
std::vector<std::string> split_words(std::string_view text);

}  // namespace lvsd::config::keepalived::detail
