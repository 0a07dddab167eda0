// Soak (issue 16): a DR pair of lvsd under steady traffic for SECONDS (default 600), with
// one operator or network event every second, in turn: a valid reload, an invalid
// reload, a health flap (a real server's web server stopped, or started again), a
// metrics scrape, an `lvsctl status`, and a burst of hostile VRRP adverts. Every period
// (a minute; a sixth of the run when it is shorter than six minutes) it prints each
// lvsd's open fds and RSS, the VRRP transitions and the failed requests; at the end a
// verdict against the target: fds and RSS flat after the warm-up (the first minute; the
// first half of a run shorter than two minutes), 0 transitions,
// 0 failed requests outside the health flaps' own, every event answered as it should.
// Exit status 0 on PASS, 1 on FAIL, 2 when the lab could not be set up.
//
// It needs the kernel's IPVS: run it in the VM,
//   tests/kernel/vm-run --timeout 1200 -- build/bench/soak 600
// CTest runs a 60-second version in the kernel tier (bench.soak_60s).
//
//   client .2 ──┐
//   lb1 .11 ────┤  VIP 192.0.2.10 by VRRP (etc/lvsd.conf, etc/lvsd-backup.conf adapted),
//   lb2 .12 ────┼── IPVS DR wlc, TCP_CHECK on 8080, metrics on :9100
//   rs1 .21 ────┤  busybox httpd :8080, VIP on lo (`lvsctl realserver up`)
//   rs2 .22 ────┘
//
// Everything it makes (namespaces, processes, files) is removed on every way out: the
// end, a failure, SIGINT/SIGTERM (the run stops early and still reports); after a
// SIGKILL the next Lab removes what this pid left.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "pair/observe.hpp"
#include "soak_probes.hpp"
#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using lvsd::pair::Clock;
using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

namespace {

constexpr const char* kVip = "192.0.2.10";
constexpr const char* kClientAddr = "192.0.2.2";
constexpr const char* kLbAddr[2] = {"192.0.2.11", "192.0.2.12"};
constexpr const char* kRsAddr[2] = {"192.0.2.21", "192.0.2.22"};
constexpr int kVrid = 51;
// RSS may move by a few pages with the allocator's bookkeeping; more is growth.
constexpr long kRssToleranceKib = 256;

std::atomic<bool> g_stop{false};

struct SetupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw SetupError(fmt::format("cannot read {}", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw SetupError(fmt::format("cannot write {}", path));
}

std::string must_replace(const std::string& text, const std::string& re, const std::string& with) {
    std::regex r(re);
    if (!std::regex_search(text, r)) throw SetupError(fmt::format("reference config: no match for /{}/", re));
    return std::regex_replace(text, r, with);
}

class Soak {
public:
    Soak(std::string binary_dir, std::string source_dir, Seconds duration)
        : bin_(std::move(binary_dir)), src_(std::move(source_dir)), duration_(duration) {
        const double p = std::min(60.0, duration.count() / 6);
        period_ = Seconds(std::max(5.0, p));
    }
    ~Soak() {
        client_.reset();
        for (auto* p : {&lb_[0], &lb_[1], &rs_[0], &rs_[1]}) p->reset();
        lab_.reset();
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }

    void setup();
    int run();

private:
    std::string lvsctl_path() const { return bin_ + "/lvsctl"; }
    static std::string lb_name(int i) { return i == 0 ? "lb1" : "lb2"; }
    Seconds now() const { return std::chrono::duration_cast<Seconds>(Clock::now() - t0_); }
    Seconds warmup() const { return std::min(Seconds(60), duration_ / 2); }

    void start_rs(int i) {
        const std::string ns = i == 0 ? "rs1" : "rs2";
        rs_[i] = std::make_unique<lt::Process>(
            lab_->spawn(ns, {"busybox", "httpd", "-f", "-p", "8080", "-h", dir_ + "/www"}));
    }
    int transitions(int i) const {
        static const std::regex re("(INIT|BACKUP|MASTER|FAULT) -> (INIT|BACKUP|MASTER|FAULT)");
        const auto out = lb_[i]->output();
        return static_cast<int>(std::distance(std::sregex_iterator(out.begin(), out.end(), re), std::sregex_iterator()));
    }
    lt::RunResult lvsctl(int i, const std::vector<std::string>& args) {
        std::vector<std::string> argv{lvsctl_path(), "-s", socket_[i]};
        argv.insert(argv.end(), args.begin(), args.end());
        return lab_->exec(lb_name(i), argv, 20s);
    }
    void action_error(const std::string& what) {
        ++action_errors_;
        if (action_error_texts_.size() < 10) action_error_texts_.push_back(fmt::format("+{:.1f}s {}", now().count(), what));
    }

    // The six events.
    void valid_reload(int n);
    void invalid_reload(int n);
    void health_flap();
    void scrape(int n);
    void status(int n);
    void hostile_adverts();

    void report_period(int index, Seconds from, Seconds to);
    bool own_failure(const lvsd::pair::Request& r) const;

    std::string bin_, src_;
    Seconds duration_, period_;
    Clock::time_point t0_ = Clock::now();
    std::unique_ptr<lt::Lab> lab_;
    std::string dir_, page_;
    std::string socket_[2], conf_[2], conf_text_[2];
    std::unique_ptr<lt::Process> lb_[2], rs_[2];
    std::unique_ptr<lvsd::pair::ClientLoop> client_;
    int weight_[2] = {1, 1};
    int transitions_at_start_[2] = {0, 0};
    // Health flaps: rs2 stopped at .first, started again at .second (< 0: still down).
    std::vector<std::pair<double, double>> flaps_;
    int action_errors_ = 0;
    std::vector<std::string> action_error_texts_;
    int adverts_sent_ = 0;
    std::vector<std::array<lvsd::soak::Usage, 2>> usage_;  // at the end of each period
};

void Soak::setup() {
    lab_ = std::make_unique<lt::Lab>();
    dir_ = "/tmp/" + lab_->prefix() + "soak";
    std::filesystem::create_directories(dir_ + "/www");
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    lab_->netns("sw");
    lab_->bridge("sw", "br0");
    const std::vector<std::pair<std::string, std::string>> hosts{{"client", kClientAddr}, {"lb1", kLbAddr[0]},
                                                                 {"lb2", kLbAddr[1]},     {"rs1", kRsAddr[0]},
                                                                 {"rs2", kRsAddr[1]}};
    // One `ip -batch` per namespace: under the VM's emulated CPU every exec is costly.
    std::string sw_batch;
    for (const auto& [name, addr] : hosts) {
        lab_->netns(name);
        sw_batch += fmt::format("link add name {}-p type veth peer name eth0 netns {}\nlink set {}-p master br0 up\n",
                                name, lab_->netns_name(name), name);
    }
    write_file(dir_ + "/sw.batch", sw_batch);
    lab_->ip("sw", "-batch " + dir_ + "/sw.batch");
    for (const auto& [name, addr] : hosts) {
        write_file(dir_ + "/" + name + ".batch", fmt::format("link set eth0 up\naddress add {}/24 dev eth0\n", addr));
        lab_->ip(name, "-batch " + dir_ + "/" + name + ".batch");
    }
    page_ = "<html><body>soak: hello through the VIP</body></html>\n";
    write_file(dir_ + "/www/index.html", page_);
    for (int i = 0; i < 2; ++i) {
        const std::string ns = i == 0 ? "rs1" : "rs2";
        auto up = lab_->exec(ns, {lvsctl_path(), "realserver", "up", "--vip", kVip});
        if (!up.ok()) throw SetupError(fmt::format("lvsctl realserver up in {}: {}", ns, up.output));
        start_rs(i);
    }
    for (int i = 0; i < 2; ++i) {
        socket_[i] = dir_ + "/" + lb_name(i) + ".sock";
        conf_[i] = dir_ + "/" + lb_name(i) + ".conf";
        std::string t = read_file(src_ + (i == 0 ? "/etc/lvsd.conf" : "/etc/lvsd-backup.conf"));
        t = must_replace(t, "192\\.168\\.100\\.", "192.0.2.");
        t = must_replace(t, "\"/run/lvsd/lvsd\\.sock\"", "\"" + socket_[i] + "\"");
        t = must_replace(t, "delay_loop = 5;", "delay_loop = 1;");
        t = must_replace(t, "(\\n\\s*reconcile_interval = [0-9]+;)",
                         fmt::format("$1\n    metrics_listen = \"{}:9100\";", kLbAddr[i]));
        conf_text_[i] = t;
        write_file(conf_[i], t);
    }
    for (int i = 0; i < 2; ++i)
        lb_[i] = std::make_unique<lt::Process>(lab_->spawn(lb_name(i), {bin_ + "/lvsd", "-f", conf_[i]}));

    // Settled: lb1 master with the VIP, both tables with both real servers.
    auto settled = [&] {
        for (int i = 0; i < 2; ++i) {
            const auto t = lab_->exec(lb_name(i), {"ipvsadm", "-Ln"}).output;
            if (t.find("192.0.2.21:8080") == std::string::npos || t.find("192.0.2.22:8080") == std::string::npos)
                return false;
        }
        return lab_->exec("lb1", {"ip", "-4", "addr", "show", "dev", "eth0"}).output.find(kVip) != std::string::npos;
    };
    if (!lt::wait_until(settled, 60s, 500ms))
        throw SetupError(fmt::format("the pair did not come up within 60 s\n--- lb1:\n{}\n--- lb2:\n{}", lb_[0]->output(),
                                     lb_[1]->output()));
    for (int i = 0; i < 2; ++i) transitions_at_start_[i] = transitions(i);

    t0_ = Clock::now();
    client_ = std::make_unique<lvsd::pair::ClientLoop>(
        lab_->netns_name("client"),
        std::vector<std::string>{"-s", "-o", "/dev/null", "--rate", "10/s", "--connect-timeout", "1", "--max-time", "3",
                                 "-H", "Connection: close", "-w",
                                 "%{stderr}%{exitcode}|%{http_code}|%{time_total}|%{size_download}|%header{via}|"
                                 "%{errormsg}\n",
                                 fmt::format("http://{}:8080/index.html?n=[1-99999999]", kVip)},
        t0_, static_cast<long>(page_.size()));
}

void Soak::valid_reload(int n) {
    const int i = n % 2;
    weight_[i] = weight_[i] == 1 ? 2 : 1;
    std::smatch m;
    if (!std::regex_search(conf_text_[i], m, std::regex("address = \"192\\.0\\.2\\.21\";[^}]*?weight = ([0-9]+);")))
        return action_error("valid reload: no weight for 192.0.2.21 in the config");
    conf_text_[i] = conf_text_[i].substr(0, static_cast<std::size_t>(m.position(1))) + std::to_string(weight_[i]) +
                    conf_text_[i].substr(static_cast<std::size_t>(m.position(1) + m.length(1)));
    write_file(conf_[i], conf_text_[i]);
    auto r = lvsctl(i, {"reload"});
    if (r.status != 0) action_error(fmt::format("valid reload of {} refused: {}", lb_name(i), r.output));
}

void Soak::invalid_reload(int n) {
    const int i = n % 2;
    write_file(conf_[i], must_replace(conf_text_[i], "lb_algo = \"wlc\";", "lb_algo = \"wlcc\";"));
    auto r = lvsctl(i, {"reload"});
    write_file(conf_[i], conf_text_[i]);
    if (r.status != 1 || r.output.find("rejected") == std::string::npos)
        action_error(fmt::format("invalid reload of {} not rejected: exit {}: {}", lb_name(i), r.status, r.output));
}

void Soak::health_flap() {
    if (rs_[1] && rs_[1]->running()) {
        flaps_.emplace_back(now().count(), -1.0);
        rs_[1]->stop(1s);
    } else {
        start_rs(1);
        if (!flaps_.empty()) flaps_.back().second = now().count();
    }
}

void Soak::scrape(int n) {
    const int i = n % 2;
    auto r = lab_->exec(lb_name(i), {"curl", "-sS", "--max-time", "5", fmt::format("http://{}:9100/metrics", kLbAddr[i])},
                        20s);
    if (r.status != 0 || r.output.find("lvsd_vrrp_transitions_total") == std::string::npos)
        action_error(fmt::format("metrics scrape of {}: exit {}: {}", lb_name(i), r.status, r.output.substr(0, 200)));
}

void Soak::status(int n) {
    const int i = n % 2;
    auto r = lvsctl(i, {"status"});
    const char* want = i == 0 ? "MASTER" : "BACKUP";
    if (r.status != 0 || r.output.find(want) == std::string::npos)
        action_error(fmt::format("lvsctl status on {}: exit {}, not {}: {}", lb_name(i), r.status, want,
                                 r.output.substr(0, 300)));
}

void Soak::hostile_adverts() {
    int sent = 0;
    try {
        sent = lvsd::soak::send_hostile_adverts(lab_->netns_name("client"), kClientAddr, kVip, kVrid, 40,
                                                static_cast<uint64_t>(adverts_sent_));
    } catch (const std::exception& e) {
        return action_error(fmt::format("hostile adverts: {}", e.what()));
    }
    adverts_sent_ += sent;
    if (sent == 0) action_error("hostile adverts: none could be sent");
}

bool Soak::own_failure(const lvsd::pair::Request& r) const {
    // A request started while rs2 was stopped belongs to the flap (it may have been
    // scheduled to the dead server), and so does one in flight at the stop (started up
    // to half a second before: the web server's children are stopped with it) or
    // racing the start (up to a second after).
    for (const auto& [down, up] : flaps_)
        if (r.start.count() >= down - 0.5 && (up < 0 || r.start.count() <= up + 1.0)) return true;
    return false;
}

void Soak::report_period(int index, Seconds from, Seconds to) {
    std::array<lvsd::soak::Usage, 2> u{lvsd::soak::usage_of(lb_[0]->pid()), lvsd::soak::usage_of(lb_[1]->pid())};
    usage_.push_back(u);
    int ok = 0, own = 0, other = 0;
    for (const auto& r : client_->requests()) {
        if (r.start < from || r.start >= to) continue;
        if (r.ok)
            ++ok;
        else
            (own_failure(r) ? own : other)++;
    }
    std::cout << fmt::format(
                     "{:>4} {:>7.0f}  {:>4} {:>8} {:>4}   {:>4} {:>8} {:>4}   {:>7} {:>12} {:>14}\n", index + 1,
                     to.count(), u[0].fds, u[0].rss_kib, transitions(0) - transitions_at_start_[0], u[1].fds,
                     u[1].rss_kib, transitions(1) - transitions_at_start_[1], ok, own, other)
              << std::flush;
}

int Soak::run() {
    std::cout << fmt::format(
        "soak: {:.0f} s, one event per second in turn (valid reload, invalid reload, health flap of rs2, metrics "
        "scrape, lvsctl status, 40 hostile adverts), client at 10 requests/s through VIP {}; a row every {:.0f} s; "
        "fds and RSS compared with the end of the warm-up, the first {:.0f} s\n\n",
        duration_.count(), kVip, period_.count(), warmup().count());
    std::cout << fmt::format("{:>4} {:>7}  {:>4} {:>8} {:>4}   {:>4} {:>8} {:>4}   {:>7} {:>12} {:>14}\n", "row", "t (s)",
                             "fds", "RSS KiB", "VRRP", "fds", "RSS KiB", "VRRP", "req ok", "failed:flap", "failed:other");
    std::cout << fmt::format("{:>4} {:>7}  {:-^19}   {:-^19}\n", "", "", " lb1 ", " lb2 ");
    int n = 0, row = 0;
    Seconds row_start{0};
    const auto end = t0_ + std::chrono::duration_cast<Clock::duration>(duration_);
    auto next = Clock::now();
    bool died = false;
    // A row at every period's end, also when the events run late and nothing sleeps.
    auto rows_due = [&] {
        while (now() >= row_start + period_) {
            report_period(row++, row_start, row_start + period_);
            row_start += period_;
        }
    };
    while (Clock::now() < end && !g_stop) {
        if (!lb_[0]->running() || !lb_[1]->running()) {
            died = true;
            break;
        }
        switch (n % 6) {
            case 0: valid_reload(n / 6); break;
            case 1: invalid_reload(n / 6); break;
            case 2: health_flap(); break;
            case 3: scrape(n / 6); break;
            case 4: status(n / 6); break;
            default: hostile_adverts();
        }
        ++n;
        next += 1s;
        rows_due();
        while (Clock::now() < std::min(next, end) && !g_stop) {
            rows_due();
            std::this_thread::sleep_for(50ms);
        }
        if (Clock::now() > next + 5s) next = Clock::now();  // an event that took long: no burst to catch up
    }
    if (!died && !g_stop && now() > row_start + 1s) report_period(row++, row_start, now());
    // A flap still open ends here: rs2 is started again so that the pair ends whole.
    if (rs_[1] && !rs_[1]->running()) health_flap();
    client_->stop();

    // The verdict.
    std::vector<std::string> why;
    if (died)
        for (int i = 0; i < 2; ++i)
            if (!lb_[i]->running()) why.push_back(fmt::format("lvsd on {} exited with {}", lb_name(i), lb_[i]->status()));
    if (g_stop) why.push_back("interrupted");
    // The baseline is the last row of the warm-up: lvsd's first reloads, scrapes and
    // dropped adverts grow its heap to its working size (up to 0.6 MiB was seen in the
    // first 20 s); growth after that is what the soak looks for.
    const std::size_t base = std::max<std::size_t>(1, static_cast<std::size_t>(warmup().count() / period_.count() + 0.5)) - 1;
    if (usage_.size() < base + 2) why.push_back("too short: no row after the warm-up to compare with");
    long fd_growth[2] = {0, 0}, rss_growth[2] = {0, 0};
    for (std::size_t r = base + 1; r < usage_.size(); ++r)
        for (int i = 0; i < 2; ++i) {
            fd_growth[i] = std::max(fd_growth[i], usage_[r][i].fds - usage_[base][i].fds);
            rss_growth[i] = std::max(rss_growth[i], usage_[r][i].rss_kib - usage_[base][i].rss_kib);
        }
    int own = 0, other = 0, total = 0;
    std::string first_other;
    for (const auto& r : client_->requests()) {
        ++total;
        if (r.ok) continue;
        if (own_failure(r)) {
            ++own;
        } else {
            if (other++ == 0) first_other = fmt::format("#{} at +{:.2f}s: curl {} {}", r.seq, r.start.count(), r.curl_exit, r.error);
        }
    }
    int trans[2] = {transitions(0) - transitions_at_start_[0], transitions(1) - transitions_at_start_[1]};
    for (int i = 0; i < 2; ++i) {
        if (fd_growth[i] > 0) why.push_back(fmt::format("{}: {} more fds than after the warm-up", lb_name(i), fd_growth[i]));
        if (rss_growth[i] > kRssToleranceKib)
            why.push_back(fmt::format("{}: RSS grew {} KiB after the warm-up (tolerance {} KiB)", lb_name(i),
                                      rss_growth[i], kRssToleranceKib));
        if (trans[i] != 0) why.push_back(fmt::format("{}: {} VRRP transitions", lb_name(i), trans[i]));
    }
    if (other > 0) why.push_back(fmt::format("{} failed requests outside the health flaps (first: {})", other, first_other));
    if (total == 0) why.push_back("no request completed");
    if (action_errors_ > 0)
        why.push_back(fmt::format("{} events not answered as expected: {}", action_errors_,
                                  fmt::join(action_error_texts_, "; ")));
    // The hostile adverts must have reached lvsd (and been dropped there), or they prove nothing.
    long dropped[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
        std::smatch m;
        const auto st = lvsctl(i, {"status"}).output;
        if (std::regex_search(st, m, std::regex("adverts sent [0-9]+ received [0-9]+ dropped ([0-9]+)")))
            dropped[i] = std::stol(m[1]);
        if (adverts_sent_ > 0 && dropped[i] <= 0)
            why.push_back(fmt::format("{}: no hostile advert was seen and dropped (status: {})", lb_name(i),
                                      st.substr(0, 300)));
    }
    const auto unparsed = client_->unparsed();
    if (!unparsed.empty()) why.push_back("client lines that did not parse: " + unparsed.substr(0, 200));

    std::cout << fmt::format(
        "\n{} events ({} hostile adverts sent; adverts dropped by lb1 {}, lb2 {}), {} flaps, {} requests: {} failed "
        "during the flaps, {} other\n",
        n, adverts_sent_, dropped[0], dropped[1], flaps_.size(), total, own, other);
    std::cout << fmt::format(
        "verdict: {}: fds growth after the warm-up lb1 {} lb2 {} (target 0), RSS growth lb1 {} KiB lb2 {} KiB (target "
        "<= {} KiB), VRRP transitions lb1 {} lb2 {} (target 0), failed requests outside the flaps {} (target 0){}\n",
        why.empty() ? "PASS" : "FAIL", fd_growth[0], fd_growth[1], rss_growth[0], rss_growth[1], kRssToleranceKib,
        trans[0], trans[1], other, why.empty() ? "" : "\n  " + fmt::format("{}", fmt::join(why, "\n  ")));
    if (!why.empty())
        for (int i = 0; i < 2; ++i) {
            auto out = lb_[i]->output();
            if (out.size() > 4000) out = "..." + out.substr(out.size() - 4000);
            std::cout << fmt::format("--- {} lvsd log (last lines):\n{}\n", lb_name(i), out);
        }
    return why.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 600;
    if (argc > 2 || (argc == 2 && (seconds = std::atof(argv[1])) < 10)) {
        std::cerr << "usage: soak [SECONDS]   (at least 10; default 600; needs root and IPVS: run it in the VM)\n";
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_stop = true; };
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        Soak soak(LVSD_BINARY_DIR, LVSD_SOURCE_DIR, Seconds(seconds));
        try {
            soak.setup();
        } catch (const std::exception& e) {
            std::cerr << "soak: setup failed: " << e.what() << "\n";
            return 2;
        }
        return soak.run();
    } catch (const std::exception& e) {
        std::cerr << "soak: " << e.what() << "\n";
        return 2;
    }
}
