// Internals of the keepalived importer shared by its translation units: the lvsd
// configuration being written (libconfig's shapes, in order, with comments) and the
// translation context (diagnostics, "did you mean").
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/keepalived_reader.hpp"
#include "config/keepalived_translate.hpp"

namespace lvsd::config::keepalived::detail {

// One node of the lvsd configuration being written.
struct Out {
    enum class Kind { Scalar, Group, List, Array, Comment };
    Kind kind = Kind::Group;
    std::string key;                    // empty for elements of lists and arrays
    std::string scalar;                 // Scalar: the literal as written ("\"eth0\"", "100", "true")
    std::vector<Out> items;             // Group, List, Array
    std::vector<std::string> comments;  // written above it, one "# " line each
    std::string src_file;               // the keepalived line it came from (0: its parent's)
    int src_line = 0;

    static Out group(std::string key = {});
    static Out list(std::string key);
    static Out array(std::string key);
    static Out string(std::string key, std::string_view value);
    static Out literal(std::string key, std::string literal);
    static Out comment(std::string text);
    Out& add(Out item);
    bool has(std::string_view key) const { return find(key) != nullptr; }
    Out* find(std::string_view key);
    const Out* find(std::string_view key) const;
};

// The text of a literal Out::string wrote ("\"eth0\"" -> eth0); other literals as they are.
std::string unquoted(std::string_view literal);
// The name a list entry stands for: "NAME", or the name/interface item of { ... }.
std::string entry_name(const Out& entry);

// libconfig text for the top-level settings, after the header comment lines, and for each
// line of it (index 0 = line 1) the keepalived line it came from ({"", 0}: none).
struct Written {
    std::string text;
    std::vector<std::pair<std::string, int>> source_of_line;
};
Written write_config(const std::vector<Out>& top, const std::vector<std::string>& header);
// A libconfig string literal (quotes, escapes).
std::string quote(std::string_view text);

bool keepalived_knows(std::string_view keyword);
std::span<const std::string_view> keepalived_keywords();

// The statement as keepalived's line showed it: keyword and arguments.
std::string line_of(const Statement& s);

class Ctx {
public:
    Translation result;
    // A vrrp_instance's lvs_sync_daemon_interface (keepalived's deprecated form of
    // global_defs' lvs_sync_daemon): interface, instance, where.
    struct SyncDaemon {
        std::string interface, instance, file;
        int line = 0;
    };
    std::optional<SyncDaemon> sync_daemon;
    int vrrp_version = 2;  // global_defs' vrrp_version: instances without `version` (IPv4)
    bool strict = false;   // global_defs' vrrp_strict
    // vrrp_script name -> weight, in file order: keepalived resolves a track_script when it
    // reads it, so a script defined further down is not found.
    std::map<std::string, int> script_weights;

    void error(const Statement& s, std::string message);
    void warn(const Statement& s, std::string message);
    // Leaves `s` out: a warning, and a comment where it would have gone in `into`.
    void left_out(Out& into, const Statement& s, std::string_view why);
    // A keyword this block has no handler for: one keepalived reads here but lvsd lacks
    // (in `lacking`: the meaning would change), or one keepalived does not read here (it
    // ignores it: an error with "did you mean" among `known`, then all its keywords).
    void unexpected(const Statement& s, std::string_view context, std::span<const std::string_view> known,
                    std::span<const std::string_view> lacking = {});

    // Values with keepalived's rules; nullopt after an error naming the statement.
    std::optional<long> integer(const Statement& s, long min, long max, std::size_t arg = 0);
    // Seconds as a libconfig literal ("1", "0.5"), checked against min..max.
    std::optional<std::string> seconds(const Statement& s, double min, double max, std::size_t arg = 0);
    std::optional<std::string> word(const Statement& s, std::size_t arg = 0);
    // All the arguments as one text (command_text), for values with blanks (user, process).
    std::optional<std::string> rest_of_line(const Statement& s);
    // A command keepalived runs (script, notify*, misc_path, quorum_up/down), taken apart
    // as keepalived does (command_words) and written for lvsd (quoted_command). Words after
    // the command: up to `owner_words` of them name the user and group it runs as
    // (notify-like keywords; lvsd runs those as root, so any other user is an error),
    // and any other is an error: keepalived ignores them, so they are rarely what was meant.
    std::optional<std::string> command(const Statement& s, std::size_t owner_words);
    // keepalived's boolean keywords: none, or on/off/true/false/yes/no.
    std::optional<bool> flag(const Statement& s);
};


// Carries the comments of `s` over to `out`, and returns `out`.
Out with_comments(Out out, const Statement& s);

// The arguments as one text (words re-quoted where they hold blanks or quotes).
std::string command_text(const Statement& s);

// keepalived's word splitting for commands (lib/parser.c alloc_strvec_quoted_escaped in
// 2.2.7): blanks separate words; "..." and '...' group; a backslash escapes the next
// character anywhere, including inside quotes, with C's \a \b \f \n \r \t \v, \E (ESC),
// \xHH..., \ooo (octal, up to 3 digits) and \cX (control-X). Returns the words, or why
// keepalived refuses the text (an unclosed quote, a '\' at the end).
std::variant<std::vector<std::string>, std::string> escaped_words(std::string_view text);
// A command statement as keepalived 2.2.7 reads it: the whole statement text is split
// with escaped_words, and the command is the second word, split again. `extra` holds the
// statement's words after that (the user and group of a notify).
struct CommandWords {
    std::vector<std::string> argv;
    std::vector<std::string> extra;
};
std::variant<CommandWords, std::string> command_words(std::string_view statement_text);
// argv as a text that lvsd's command splitting (config::detail::split_command) and a
// shell both read back as the same words: plain words bare, others in single quotes.
std::string quoted_command(const std::vector<std::string>& argv);
// `word` in single quotes, a quote inside closed, escaped and reopened: every character
// stays as it is for lvsd's word splitting and for a shell.
std::string single_quoted(std::string_view word);
// `track_script { NAME [weight N] }` and its kin -> a list of names or {name, weight} groups.
Out translate_track_list(Ctx& ctx, const Statement& s, std::string_view key, long limit);

// Translation of keepalived's LVS part (keepalived_translate_lvs.cpp): virtual_server and
// virtual_server_group blocks, appended to the lists in `top`.
void translate_virtual_server(Ctx& ctx, const Statement& s, Out& virtual_servers);
void translate_virtual_server_group(Ctx& ctx, const Statement& s, Out& groups);

}  // namespace lvsd::config::keepalived::detail
