#include "man/pages.hpp"

#include <fmt/format.h>

#include "man/markdown.hpp"

namespace lvsd::man {

namespace {

struct Part {
    const char* heading;  // the README heading whose section this is
    const char* title;    // the man page's .SH title; null: the README's own sections
    int sh_level;         // README heading levels that become .SH (deeper: .SS)
};

std::string header(std::string_view name, int section, std::string_view version, std::string_view manual,
                   std::string_view summary) {
    std::string upper;
    for (char c : name) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    // No date: the page must be the same for the same README (reproducible packages).
    return fmt::format(".\\\" Generated from README.md by lvsd-mangen (src/man): edit README.md, not this file.\n"
                       ".TH {} {} \"\" \"lvsd {}\" \"{}\"\n.SH NAME\n{} \\- {}\n",
                       upper, section, version, manual, name, summary);
}

Result<std::string> parts(const Lines& doc, std::string_view source, const std::vector<Part>& list) {
    std::string out;
    for (const auto& p : list) {
        auto body = section(doc, p.heading, source);
        if (!body) return body.error();
        if (p.title) out += fmt::format(".SH {}\n", p.title);
        out += to_roff(*body, p.sh_level);
    }
    return out;
}

// The README's opening paragraphs, between the title and the first section.
std::string intro(const Lines& doc) {
    Lines body;
    for (size_t i = 1; i < doc.size() && heading_level(doc[i]) == 0; ++i) body.push_back(doc[i]);
    return to_roff(body, 2);
}

constexpr const char* kSeeAlso = ".SH SEE ALSO\n";

}  // namespace

Result<std::vector<Page>> render_pages(std::string_view readme, std::string_view source, std::string_view version) {
    const Lines doc = split_lines(readme);
    std::vector<Page> pages;

    auto lvsd = parts(doc, source,
                      {{"Command line", "OPTIONS", 3},
                       {"Signals", "SIGNALS", 3},
                       {"When the host changes", "WHEN THE HOST CHANGES", 3},
                       {"Metrics", "METRICS", 3},
                       {"Logs", "LOGS", 3},
                       {"Troubleshooting", "TROUBLESHOOTING", 2}});
    if (!lvsd) return lvsd.error();
    pages.push_back(
        {"lvsd.8",
         header("lvsd", 8, version, "System Administration", "load-balancer daemon: IPVS, health checks and VRRP") +
             ".SH SYNOPSIS\n.B lvsd\n[\\fB\\-f\\fR \\fIFILE\\fR] [\\fB\\-t\\fR | \\fB\\-\\-plan\\fR] "
             "[\\fB\\-l\\fR \\fILEVEL\\fR]\n.SH DESCRIPTION\n" +
             intro(doc) + *lvsd +
             ".SH FILES\n.TP\n/etc/lvsd/lvsd.conf\nthe configuration, see \\fBlvsd.conf\\fR(5)\n"
             ".TP\n/run/lvsd/lvsd.sock\nthe control socket of \\fBlvsctl\\fR(8) (\\fBcontrol_socket\\fR)\n"
             ".TP\n/lib/systemd/system/lvsd.service\nthe systemd unit\n"
             ".TP\n/usr/share/doc/lvsd/README.md\nthe whole manual these pages are made from\n" +
             kSeeAlso + "\\fBlvsctl\\fR(8), \\fBlvsd.conf\\fR(5), \\fBipvsadm\\fR(8), \\fBkeepalived\\fR(8)\n"});

    auto ctl = parts(doc, source,
                     {{"lvsctl", "DESCRIPTION", 3}, {"DSR (direct routing) real-server setup", "DSR REAL-SERVER SETUP", 2}});
    if (!ctl) return ctl.error();
    pages.push_back({"lvsctl.8",
                     header("lvsctl", 8, version, "System Administration",
                            "ask a running lvsd for its state, reload it, drain or override real servers; set up a DSR real server") +
                         ".SH SYNOPSIS\n"
                         ".B lvsctl\n[\\fB\\-s\\fR \\fIPATH\\fR] \\fBstatus\\fR [\\fB\\-\\-json\\fR]\n.br\n"
                         ".B lvsctl\n[\\fB\\-s\\fR \\fIPATH\\fR] \\fBreload\\fR\n.br\n"
                         ".B lvsctl\n[\\fB\\-s\\fR \\fIPATH\\fR] \\fBdrain\\fR|\\fBundrain\\fR|\\fBprogress\\fR|\\fBdisable\\fR|"
                         "\\fBenable\\fR [\\fISERVICE\\fR] \\fIREAL\\fR|\\fB\\-\\-balancer\\fR [\\fIOPTIONS\\fR]\n.br\n"
                         ".B lvsctl\n[\\fB\\-s\\fR \\fIPATH\\fR] \\fBweight\\fR [\\fB\\-\\-clear\\fR] "
                         "[\\fISERVICE\\fR] \\fIREAL\\fR [\\fIWEIGHT\\fR]\n.br\n"
                         ".B lvsctl\n[\\fB\\-s\\fR \\fIPATH\\fR] \\fBfailover\\fR|\\fBhold\\fR [\\fB\\-\\-clear\\fR] "
                         "\\fIINSTANCE\\fR|\\fB\\-\\-group\\fR \\fIGROUP\\fR\n.br\n"
                         ".B lvsctl realserver\n\\fBup\\fR|\\fBdown\\fR \\fB\\-\\-vip\\fR \\fIADDR\\fR "
                         "[\\fB\\-\\-vip\\fR \\fIADDR\\fR ...]\n" +
                         *ctl + kSeeAlso + "\\fBlvsd\\fR(8), \\fBlvsd.conf\\fR(5), \\fBipvsadm\\fR(8)\n"});

    auto conf = parts(doc, source, {{"Configuration", "DESCRIPTION", 3}});
    if (!conf) return conf.error();
    pages.push_back({"lvsd.conf.5",
                     header("lvsd.conf", 5, version, "File Formats", "configuration file of lvsd(8)") +
                         ".SH SYNOPSIS\n/etc/lvsd/lvsd.conf\n" + *conf +
                         ".SH FILES\n.TP\n/etc/lvsd/lvsd.conf\nthe file \\fBlvsd\\fR(8) reads by default "
                         "(the package installs the commented reference, mode 0640: it may hold \\fBauth_pass\\fR)\n" +
                         kSeeAlso + "\\fBlvsd\\fR(8), \\fBlvsctl\\fR(8), \\fBkeepalived.conf\\fR(5)\n"});
    return pages;
}

}  // namespace lvsd::man
