// keepalived.conf -> lvsd configuration (`lvsd --from-keepalived FILE`).
//
// Translates what keepalived 2.2.7 reads (keepalived_reader.hpp) into lvsd's libconfig
// configuration with the same meaning: VRRP instances, sync groups, tracked scripts,
// files and processes, virtual servers, groups, real servers and checks. Where lvsd's
// default differs from keepalived's (lb_kind, a check's retry, ...) the value is written
// explicitly. Comments of the original go with the lines they belong to.
//
// Three outcomes per keepalived line:
//   - translated;
//   - left out with a warning and a `# not translated (FILE:LINE): ...` comment in the
//     output, when leaving it out changes neither load balancing nor failover (mail
//     alerts, SNMP, process priorities, ...);
//   - an error, when keepalived itself would reject or ignore the line (an unknown or
//     misspelt keyword, a bad value: "did you mean" where one fits), or when lvsd lacks
//     something the service relies on (e.g. AH authentication): the meaning would change.
// The text is then validated with lvsd's own loader (LoadOptions::host_checks = false:
// the scripts it names need exist only on the host that will run it); a problem found
// there is an error too. Pure apart from reading the files (and their includes).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/keepalived_reader.hpp"

namespace lvsd::config::keepalived {

struct Translation {
    std::string text;                  // the lvsd configuration; empty when reading failed
    std::vector<Diagnostic> errors;    // exit 1: the meaning would change, or keepalived rejects it
    std::vector<Diagnostic> warnings;  // left out without changing load balancing or failover
    bool ok() const { return errors.empty(); }
};

// Translates statements already read; `source` names the original in the header comment.
Translation translate(const ReadResult& read, const std::string& source);
// Reads `path` (with its includes) and translates it.
Translation translate_file(const std::string& path, const ReadOptions& options = {});

}  // namespace lvsd::config::keepalived
