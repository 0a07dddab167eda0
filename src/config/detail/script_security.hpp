// keepalived's enable_script_security, which lvsd always applies to every command it runs
// (notify commands, vrrp_scripts, MISC_CHECK), in a header of its own so that the unit
// tests can drive it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::config::detail {

// Why lvsd refuses to run `path` as `uid` (named `runs_as` in messages), or nothing. The
// file and every directory above it, up to /, must be beyond the reach of anyone but root
// and `uid`: owned by one of them (an owner may chmod at will), not writable by group or
// others (except a sticky directory such as /tmp, where only a file's owner can replace
// it). `path` is a program to execute (`executable`) or a file a program reads (a script
// given to a shell or an interpreter).
std::optional<std::string> unsafe_to_run(const std::string& path, uint32_t uid = 0, std::string_view runs_as = "root",
                                         bool executable = true);

// Why lvsd refuses to run the command `argv` as `uid`, or nothing: its program, the script
// a shell text (/bin/sh -c TEXT) starts with, and every other existing file the command
// names by absolute path (what a shell or an interpreter runs: `sh /x/check.sh`,
// `/x/a && /x/b`), each by unsafe_to_run.
std::optional<std::string> unsafe_command(const std::vector<std::string>& argv, uint32_t uid, std::string_view runs_as);

}  // namespace lvsd::config::detail
