// Reloads against the real kernel's IPVS (in the VM) where a health check is involved
// (issue #11, failing input 4):
// - a real server whose TCP_CHECK target is dead, a live sorry server in its place; reloads
//   that change only the check's settings (connect_timeout; delay_loop and
//   delay_before_retry; rise and fall; alpha) must keep the verdict and the history: the
//   dead server never re-enters the table, the sorry server never leaves it (sampled with
//   ipvsadm -Ln, and /proc/net/ip_vs every ~50 ms, for longer than connect_timeout x
//   tries), and the check's
//   probe counter goes on from where it was. A reload that changes the check's target
//   (another dead port) with alpha set makes a new check that starts down: it never
//   enters either. Two variants: the target refuses at once (no listener), or it is
//   black-holed (an address nobody answers ARP for) so every probe runs to its timeout.
// - the host check of a reload: a check whose bindto is not an address of the balancer is
//   refused with FILE:LINE, and the kernel table, the status and the generation stay as
//   they were.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;
using namespace std::chrono_literals;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

constexpr const char* kSorry = "192.0.2.30:8080";

// What a test changes in the one real server's check between reloads.
struct Settings {
    std::string real = "192.0.2.21";  // the real server (and the check's target address)
    std::string connect_timeout = "0.5";
    std::string delay_loop = "0.3";
    std::string delay_before_retry = "0.2";
    int rise = 1;
    int fall = 2;
    bool alpha = false;
    int connect_port = 0;  // 0: the real server's port
    std::string bindto;    // empty: none
};

std::string config(const std::string& socket, const Settings& s) {
    std::ostringstream out;
    out << "global_defs = { control_socket = \"" << socket << "\"; reconcile_interval = 3600; };\n"
        << "virtual_servers = ( {\n"
        << "    address = \"192.0.2.10\"; port = 8080; protocol = \"TCP\"; lb_algo = \"wlc\"; lb_kind = \"DR\";\n"
        << "    alpha = " << (s.alpha ? "true" : "false") << ";\n"
        << "    sorry_server = { address = \"192.0.2.30\"; };\n"
        << "    real_servers = ( {\n"
        << "        address = \"" << s.real << "\";\n"
        << "        TCP_CHECK = {\n"
        << "            connect_timeout = " << s.connect_timeout << "; delay_loop = " << s.delay_loop
        << "; delay_before_retry = " << s.delay_before_retry << ";\n"
        << "            rise = " << s.rise << "; fall = " << s.fall << ";\n";
    if (s.connect_port != 0) out << "            connect_port = " << s.connect_port << ";\n";
    if (!s.bindto.empty()) out << "            bindto = \"" << s.bindto << "\";\n";
    out << "        };\n"
        << "    } );\n"
        << "} );\n";
    return out.str();
}

// 1-based line of the first line of `text` that contains `needle`.
int line_of(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (line.find(needle) != std::string::npos) return n;
    }
    return 0;
}

bool has(const std::string& table, const std::string& ep) {
    return table.find("-> " + ep + " ") != std::string::npos;
}

// `ipvsadm -Ln` without its connection counters and column padding.
std::string without_counters(const std::string& table) {
    std::istringstream in(table);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        if (!w.empty() && w[0] == "->" && w.size() > 4) w.resize(4);  // -> addr Forward Weight
        for (std::size_t i = 0; i < w.size(); ++i) out += (i ? " " : "") + w[i];
        out += '\n';
    }
    return out;
}

// `lvsctl status --json` without what changes by itself: timers, probe results and
// counts, connection counts.
std::string without_timers(std::string json) {
    static const std::regex kMoving(
        R"re("(uptime_s|state_since_s|probes|active_connections|inactive_connections)":(null|\d+),?)re"
        R"re(|"last_probe":(null|\{[^}]*\}),?)re");
    return std::regex_replace(json, kMoving, "");
}

// The check's probe count as `lvsctl status --json` shows it for real server `address`;
// -1 when absent.
long probes_of(const std::string& json, const std::string& address) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"address\":\"" + address + "\".*?\"probes\":(\\d+)")))
        return -1;
    return std::stol(m[1]);
}

long generation_of(const std::string& json) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex(R"("generation":(\d+))"))) return -1;
    return std::stol(m[1]);
}

// `192.0.2.21:8080` as /proc/net/ip_vs writes it: `C0000215:1F90`.
std::string proc_endpoint(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    unsigned a, b, c, d;
    std::sscanf(endpoint.substr(0, colon).c_str(), "%u.%u.%u.%u", &a, &b, &c, &d);
    char out[32];
    std::snprintf(out, sizeof out, "%02X%02X%02X%02X:%04X", a, b, c, d, std::stoi(endpoint.substr(colon + 1)));
    return out;
}

struct Sampled {
    int samples = 0;
    int dead_in = 0;    // samples with the dead real server in the table
    int sorry_out = 0;  // samples without the sorry server
    std::string first_bad;
};

// Samples separated by `===` lines; `service`, `dead` and `sorry` as the sampler writes them.
Sampled count(const std::string& out, const std::string& service, const std::string& dead,
              const std::string& sorry) {
    Sampled r;
    std::size_t from = 0;
    for (std::size_t at; (at = out.find("===\n", from)) != std::string::npos; from = at + 4) {
        const std::string sample = out.substr(from, at - from);
        if (sample.find("TCP  " + service) == std::string::npos) continue;  // not a table
        ++r.samples;
        const bool dead_in = has(sample, dead);
        const bool sorry_out = !has(sample, sorry);
        r.dead_in += dead_in;
        r.sorry_out += sorry_out;
        if ((dead_in || sorry_out) && r.first_bad.empty()) r.first_bad = sample;
    }
    return r;
}

struct Sampling {
    Sampled ipvsadm;  // `ipvsadm -Ln`, as fast as it runs (a few per second under TCG)
    Sampled proc;     // /proc/net/ip_vs, the same table, every ~50 ms (shell builtins only)
    std::chrono::milliseconds span{};  // from the reload to the last sample
};

class ReloadHealth : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("lb");
        lab_.netns("rs");
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        lab_.veth("lb", "eth0", "sw", "lb0");
        lab_.veth("rs", "eth0", "sw", "rs0");
        lab_.enslave("sw", "lb0", "br0");
        lab_.enslave("sw", "rs0", "br0");
        lab_.address("lb", "eth0", "192.0.2.2/24");
        // 192.0.2.21 exists and refuses (no listener); 192.0.2.99 exists nowhere (no ARP
        // answer: a probe runs to its timeout); 192.0.2.30 is the sorry server.
        lab_.address("rs", "eth0", "192.0.2.21/24");
        lab_.address("rs", "eth0", "192.0.2.30/24");
        dir_ = "/tmp/" + lab_.prefix() + "reload";
        ::mkdir(dir_.c_str(), 0700);
        ::mkdir((dir_ + "/www").c_str(), 0700);
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        sorry_ = lab_.spawn("rs", {"busybox", "httpd", "-f", "-p", "192.0.2.30:8080", "-h", dir_ + "/www"});
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    void write(const Settings& s) { std::ofstream(conf_) << config(socket_, s); }
    std::string table() { return lab_.exec("lb", {"ipvsadm", "-Ln"}).output; }
    std::string status() { return lab_.exec("lb", {kLvsctl, "-s", socket_, "status", "--json"}).output; }
    RunResult reload() { return lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"}); }
    bool settled(const std::string& dead) {
        auto t = table();
        return has(t, kSorry) && !has(t, dead + ":8080");
    }

    // Rewrites the config, reloads, and samples the kernel table from before the reload
    // until `after` has passed since it: `ipvsadm -Ln` in a loop, and, since an exec costs
    // a few hundred ms in the emulated VM, /proc/net/ip_vs every ~50 ms read with shell
    // builtins alone (the wait is a `read -t` on a FIFO nobody writes).
    Sampling reload_and_sample(const Settings& s, const std::string& dead, std::chrono::milliseconds after,
                               RunResult& reloaded) {
        auto ipvsadm = lab_.spawn("lb", {"sh", "-c", "while :; do ipvsadm -Ln; echo ===; done"});
        auto proc = lab_.spawn(
            "lb", {"bash", "-c",
                   "f=$(mktemp -u); mkfifo $f; exec 9<>$f; rm $f; "
                   "while :; do while IFS= read -r l; do echo \"$l\"; done </proc/net/ip_vs; echo ===; "
                   "read -t 0.05 -u 9; done"});
        EXPECT_TRUE(wait_until([&] {
            return ipvsadm.output().find("===") != std::string::npos && proc.output().find("===") != std::string::npos;
        }, 5s));
        write(s);
        const auto start = std::chrono::steady_clock::now();
        reloaded = reload();
        std::this_thread::sleep_for(after - (std::chrono::steady_clock::now() - start));
        const auto end = std::chrono::steady_clock::now();
        Sampling r;
        r.ipvsadm = count(ipvsadm.output(), "192.0.2.10:8080", dead + ":8080", kSorry);
        r.proc = count(proc.output(), proc_endpoint("192.0.2.10:8080"), proc_endpoint(dead + ":8080"),
                       proc_endpoint(kSorry));
        ipvsadm.stop();
        proc.stop();
        r.span = std::chrono::duration_cast<std::chrono::milliseconds>(end - start);
        return r;
    }

    // `slow`: the target is black-holed instead of refusing.
    void settings_changes_keep_the_verdict_and_the_history(bool slow);

    Lab lab_;
    Process sorry_;
    std::string dir_, conf_, socket_;
};

void ReloadHealth::settings_changes_keep_the_verdict_and_the_history(bool slow) {
    Settings s;
    s.real = slow ? "192.0.2.99" : "192.0.2.21";
    write(s);
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});
    ASSERT_TRUE(wait_until([&] { return settled(s.real); }, 15s)) << table() << lvsd.output();
    // The dead server went down by its own probes (alpha is off: it started up).
    EXPECT_NE(lvsd.output().find("real server " + s.real + ":8080 DOWN"), std::string::npos) << lvsd.output();
    if (slow) {
        ASSERT_TRUE(wait_until([&] { return status().find("connect timeout after 500ms") != std::string::npos; }, 5s))
            << status();
    }

    struct Step {
        const char* what;
        std::function<void(Settings&)> change;
        bool same_check;  // only settings changed: the history goes on
    };
    const std::vector<Step> steps = {
        {"connect_timeout 0.5 -> 0.8", [](Settings& x) { x.connect_timeout = "0.8"; }, true},
        {"delay_loop 0.3 -> 1.5, delay_before_retry 0.2 -> 0.1",
         [](Settings& x) {
             x.delay_loop = "1.5";
             x.delay_before_retry = "0.1";
         },
         true},
        {"rise 1 -> 2, fall 2 -> 3",
         [](Settings& x) {
             x.rise = 2;
             x.fall = 3;
         },
         true},
        {"alpha off -> on", [](Settings& x) { x.alpha = true; }, true},
        {"target port 8080 -> 8081 (dead too), alpha on", [](Settings& x) { x.connect_port = 8081; }, false},
    };
    int dead_total = 0, sorry_out_total = 0;
    for (const auto& step : steps) {
        SCOPED_TRACE(step.what);
        const long before = probes_of(status(), s.real);
        EXPECT_GT(before, 0) << status();
        step.change(s);
        RunResult reloaded;
        // Longer than connect_timeout x fall plus the retries between them (0.8 x 3 + 0.2 x 2 s).
        auto r = reload_and_sample(s, s.real, 3500ms, reloaded);
        ASSERT_EQ(reloaded.status, 0) << reloaded.output << lvsd.output();
        const std::string json = status();
        const long after = probes_of(json, s.real);
        std::printf("[ reload   ] %s (%s target), %lld ms after the reload: ipvsadm -Ln %d samples, dead server in "
                    "%d, sorry server out %d; /proc/net/ip_vs %d samples, dead server in %d, sorry server out %d; "
                    "probes %ld -> %ld\n",
                    step.what, slow ? "black-holed" : "refusing", static_cast<long long>(r.span.count()),
                    r.ipvsadm.samples, r.ipvsadm.dead_in, r.ipvsadm.sorry_out, r.proc.samples, r.proc.dead_in,
                    r.proc.sorry_out, before, after);
        EXPECT_GE(r.span, 3000ms);
        EXPECT_GE(r.ipvsadm.samples, 5);
        EXPECT_GE(r.proc.samples, 30);
        for (const auto* x : {&r.ipvsadm, &r.proc}) {
            EXPECT_EQ(x->dead_in, 0) << x->first_bad << lvsd.output();
            EXPECT_EQ(x->sorry_out, 0) << x->first_bad << lvsd.output();
            dead_total += x->dead_in;
            sorry_out_total += x->sorry_out;
        }
        if (step.same_check) {
            // Not reset: it went on from `before` (a new check would start again at 0).
            EXPECT_GT(after, before) << json;
        }
        EXPECT_NE(json.find("\"address\":\"" + s.real + "\",\"port\":8080,\"healthy\":false"), std::string::npos)
            << json;
    }
    std::printf("[ reload   ] total: dead server in %d samples, sorry server out in %d\n", dead_total,
                sorry_out_total);
    // Only the start's DOWN: no reload brought the dead server up.
    const auto log = lvsd.output();
    EXPECT_EQ(log.find("real server " + s.real + ":8080 UP"), std::string::npos) << log;
}

}  // namespace

TEST_F(ReloadHealth, SettingsChangesKeepTheVerdictOfARefusingTarget) {
    settings_changes_keep_the_verdict_and_the_history(false);
}

TEST_F(ReloadHealth, SettingsChangesKeepTheVerdictOfABlackHoledTarget) {
    settings_changes_keep_the_verdict_and_the_history(true);
}

TEST_F(ReloadHealth, ABindtoThatIsNotOursIsRefusedAndChangesNothing) {
    Settings s;
    write(s);
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});
    ASSERT_TRUE(wait_until([&] { return settled(s.real); }, 15s)) << table() << lvsd.output();
    const std::string table_before = without_counters(table());
    const std::string json_before = status();
    ASSERT_EQ(generation_of(json_before), 1) << json_before;

    auto bad = s;
    bad.bindto = "203.0.113.99";
    const std::string text = config(socket_, bad);
    std::ofstream(conf_) << text;
    auto r = reload();
    EXPECT_EQ(r.status, 1) << r.output;
    const std::string where = conf_ + ":" + std::to_string(line_of(text, "TCP_CHECK")) + ": ";
    EXPECT_NE(r.output.find(where), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("bindto 203.0.113.99 is not an address of this host"), std::string::npos) << r.output;
    EXPECT_NE(lvsd.output().find("reload rejected, keeping the running configuration: " + where), std::string::npos)
        << lvsd.output();

    const std::string json_after = status();
    EXPECT_EQ(without_counters(table()), table_before);
    EXPECT_EQ(without_timers(json_after), without_timers(json_before));
    EXPECT_EQ(generation_of(json_after), 1) << json_after;

    // The balancer's own address is accepted.
    auto good = s;
    good.bindto = "192.0.2.2";
    write(good);
    auto ok = reload();
    EXPECT_EQ(ok.status, 0) << ok.output << lvsd.output();
    EXPECT_EQ(generation_of(status()), 2);
}
