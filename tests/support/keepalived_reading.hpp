// keepalived's own reading of a keepalived.conf: the reference that lvsd's importer
// (`lvsd --from-keepalived`, issue 13) is checked against. Every value comes from the
// configuration dump of the real keepalived (Debian's 2.2.7, `keepalived -d`), never from
// reading the .conf file here; tests/data/keepalived_reading/SCHEMA.md describes the JSON.
//
// keepalived is run twice per file, once per child process, because both children log to
// the same console and their dumps would interleave: `-P` (VRRP child only; runs on the
// host, netns tier) and `-C` (checker child only; its dump follows IPVS initialisation, so
// it needs a kernel with IPVS: the kernel tier's VM). Each run happens in a fresh network
// namespace that has the interfaces the file names, inside a private mount namespace whose
// root is a throw-away overlay of / holding the scripts and users the file names (scripts
// are stubs that exit 0), so keepalived neither drops an instance for a missing interface
// nor disables a vrrp_script for a missing file. Which interfaces, scripts and users a
// file needs is learnt from keepalived's own complaints ("interface X ... doesn't exist",
// "Script /x cannot be accessed", "Script user 'u' does not exist") and recorded in the
// reading ("host"), so that a check run builds the same host in one go.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "support/netns_lab.hpp"

namespace lvsd::testing::keepalived {

using namespace std::chrono_literals;

// What a file needs from the host; kept in the reading as "host".
struct HostSetup {
    std::vector<std::string> interfaces;  // veth links made in the run's namespace
    std::vector<std::string> scripts;     // absolute paths; stubs `#!/bin/sh\nexit 0`
    std::vector<std::string> users;       // /etc/passwd entries, uid = gid = 61001, 61002, ...
    bool empty() const { return interfaces.empty() && scripts.empty() && users.empty(); }
    // Adds what `more` has and this lacks; true when something was new.
    bool merge(const HostSetup& more);
};
boost::json::object to_json(const HostSetup& setup);
HostSetup host_setup_from(const boost::json::value& reading);  // its "host" (or nothing)

// A command run in network namespace `netns` (its full name) inside a private mount
// namespace whose root is a throw-away overlay of / with the stub scripts and the users of
// `setup`, /run a fresh tmpfs, and each of `binds` ("SRC:DST", absolute) showing the host
// directory SRC at DST. The command's process group is stopped (SIGTERM, then SIGKILL
// after `grace`) by stop() or the destructor, and the mount point removed. Root only.
class PrivateRoot {
public:
    PrivateRoot(const std::string& netns, const std::vector<std::string>& binds, const HostSetup& setup,
                const std::vector<std::string>& command);
    ~PrivateRoot();
    PrivateRoot(const PrivateRoot&) = delete;
    PrivateRoot& operator=(const PrivateRoot&) = delete;
    Process& process() { return process_; }
    RunResult stop(std::chrono::milliseconds grace = 10s);

private:
    std::string mnt_;
    Process process_;
};

enum class Part { vrrp, checker };  // keepalived -P / keepalived -C

struct RunOutput {
    std::string output;   // keepalived's console log (stdout and stderr)
    int status = -1;      // exit status of the keepalived parent
    bool timed_out = false;
};

// Runs `keepalived <-P|-C> -n -l -D -d -R -G [-i config_id] -f conf` as described above and
// stops it (SIGTERM) once its child has begun the dump (the dump is written before the
// child's event loop handles the signal) or once it has nothing to run; returns its log.
// `conf` must be an absolute path. Throws LabError when the namespace or the private root
// cannot be made. Root only. With LVSD_KA_READING_LOGS=DIR set, each log is also kept there.
RunOutput run(const std::string& conf, Part part, const std::string& config_id, const HostSetup& setup,
              std::chrono::milliseconds timeout = 60s);

// ---- pure: keepalived's log -> reading ----------------------------------------------

// The log's lines without the "Mon Nov 30 09:14:26 2026: " prefix -l puts on each.
std::vector<std::string> log_lines(std::string_view output);
// What keepalived said it missed on this host (interfaces, script files, script users).
// The default script user keepalived_script counts only where keepalived could not do
// without it ("Unable to set default user ..."): elsewhere it runs scripts as root, as on
// any stock Debian host, which lacks that user.
HostSetup missing(const std::vector<std::string>& lines);
// Which child processes the parent started: "vrrp", "checker".
std::vector<std::string> children(const std::vector<std::string>& lines);
// Config diagnostics that name a line: "(FILE: Line N) text" or "(Line N) text", as
// {"line", "text"} plus "file" (relative to the corpus directory `dir`) when FILE is not
// `conf`. Several logs are merged: duplicates dropped, sorted by file then line (stable).
boost::json::array messages(const std::vector<std::vector<std::string>>& logs, const std::string& conf,
                            const std::string& dir);
// "" when keepalived accepted the file; otherwise the line keepalived logged before a
// child "exited with permanent error CONFIG" (keepalived's reason for refusing it).
std::string rejection(const std::vector<std::string>& lines);

// The VRRP child's dump -> {"vrrp_scripts", "vrrp_instances", "sync_groups"}.
boost::json::object vrrp_reading(const std::vector<std::string>& lines);
// The checker child's dump -> {"virtual_servers", "virtual_server_groups"}.
boost::json::object checker_reading(const std::vector<std::string>& lines);

// ---- JSON ---------------------------------------------------------------------------

// Two-space indented JSON with a newline at the end (the checked-in form).
std::string pretty(const boost::json::value& v);
// Every difference between `want` (checked in) and `got` (keepalived now), one per line:
// "vrrp_instances[0].priority: checked in 100, keepalived now 101". Only keys in `keys`
// are compared at the top level (empty: all).
std::vector<std::string> differences(const boost::json::value& want, const boost::json::value& got,
                                     const std::vector<std::string>& keys = {});
// The file parsed as JSON; throws std::runtime_error "FILE: ..." when unreadable or invalid.
boost::json::value read_json(const std::string& path);
void write_json(const std::string& path, const boost::json::value& v);

// ---- the corpus ---------------------------------------------------------------------

struct Case {
    std::string conf;       // absolute path of the corpus file
    std::string config_id;  // keepalived -i; "" when the file has no @name lines
    std::string reading;    // the reading's file name: "NN-name.json" or "NN-name@ID.json"
};
// One case per corpus file, or one per config id for a file with `@NAME`/`@^NAME` lines
// (the names are the words after '@' at the start of a line: the only thing read from the
// .conf here, to know which -i values to give keepalived).
std::vector<Case> corpus(const std::string& corpus_dir);

}  // namespace lvsd::testing::keepalived
