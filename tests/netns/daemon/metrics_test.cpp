// lvsd's metrics endpoint (global_defs.metrics_listen) with the real binary in network
// namespaces: the VRRP series follow a real election (a master that a higher priority
// pre-empts), the scrape parses with the Prometheus reference parser, hostile clients
// (an oversized head, a body, silent connections past the read deadline and the
// connection cap, garbage) are cut off and counted while the endpoint keeps answering,
// and reloads add, move, keep (on a bad address) and remove the endpoint.
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

// A TCP socket made inside a lab namespace (a thread enters it; the descriptor keeps
// working from any thread afterwards), connected to ip:port there. -1 on failure.
int connect_in(const std::string& netns, const std::string& ip, uint16_t port) {
    int fd = -1;
    std::thread t([&] {
        int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0) return;
        bool entered = ::setns(ns, CLONE_NEWNET) == 0;
        ::close(ns);
        if (!entered) return;
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
        if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(s);
            return;
        }
        fd = s;
    });
    t.join();
    return fd;
}

// A listening socket inside a lab namespace, to hold a port.
int listen_in(const std::string& netns, const std::string& ip, uint16_t port) {
    int fd = -1;
    std::thread t([&] {
        int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) return;
        ::close(ns);
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
        if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 4) != 0) {
            ::close(s);
            return;
        }
        fd = s;
    });
    t.join();
    return fd;
}

// Everything the peer sends until it closes, or until `timeout` passes (then nullopt).
std::optional<std::string> read_to_eof(int fd, std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == ECONNRESET) return out;
        if (n <= 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

// The value of one series in a scrape ("name{labels}" exactly as rendered), or "".
std::string value(const std::string& scrape, const std::string& series) {
    std::regex re("(^|\n)" + std::regex_replace(series, std::regex(R"([\[\]\{\}\(\)\.\*\+\?\^\$\|\\])"), R"(\$&)") +
                  " ([^\n]*)");
    std::smatch m;
    return std::regex_search(scrape, m, re) ? std::string(m[2]) : "";
}

// Parses a scrape with the Prometheus project's Python client (the reference parser)
// and prints the number of samples; a malformed exposition makes it fail.
const char* kParse =
    "import sys\n"
    "from prometheus_client.parser import text_string_to_metric_families\n"
    "print(sum(len(f.samples) for f in text_string_to_metric_families(sys.stdin.read())))\n";

class MetricsEndpoint : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        for (const char* lb : {"lb1", "lb2"}) {
            lab_.netns(lb);
            lab_.veth(lb, "eth0", "sw", std::string(lb) + "p");
            lab_.enslave("sw", std::string(lb) + "p", "br0");
        }
        lab_.address("lb1", "eth0", "192.0.2.2/24");
        lab_.address("lb2", "eth0", "192.0.2.3/24");
        dir_ = "/tmp/" + lab_.prefix() + "metrics";
        run({"mkdir", "-p", dir_});
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    std::string config(const std::string& name, int priority, const std::string& metrics_listen) {
        std::string g = "global_defs = { control_socket = \"" + dir_ + "/" + name + ".sock\";";
        if (!metrics_listen.empty()) g += "\n    metrics_listen = \"" + metrics_listen + "\";";
        return g + R"( };
vrrp_instances = ( {
    name = "VI_1"; interface = "eth0"; virtual_router_id = 51; priority = )" +
               std::to_string(priority) + R"(;
    version = 3; advert_int = 0.1;
    virtual_ipaddress = [ "192.0.2.10/24" ];
} );
)";
    }
    std::string write(const std::string& name, const std::string& text) {
        std::string path = dir_ + "/" + name + ".conf";
        std::ofstream(path) << text;
        return path;
    }
    RunResult scrape(const std::string& ns, const std::string& hostport, const std::string& path = "/metrics") {
        return lab_.exec(ns, {"curl", "-sS", "--max-time", "5", "http://" + hostport + path});
    }
    RunResult lvsctl(const std::string& name, const std::vector<std::string>& args) {
        std::vector<std::string> argv{kLvsctl, "-s", dir_ + "/" + name + ".sock"};
        argv.insert(argv.end(), args.begin(), args.end());
        return lab_.exec(name, argv);
    }

    Lab lab_;
    std::string dir_;
};

}  // namespace

TEST_F(MetricsEndpoint, VrrpSeriesFollowTheElectionAndParse) {
    auto lb1 = lab_.spawn("lb1", {kLvsd, "-f", write("lb1", config("lb1", 100, "127.0.0.1:9100"))});
    std::string m;
    ASSERT_TRUE(wait_until([&] {
        m = scrape("lb1", "127.0.0.1:9100").output;
        return value(m, R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="MASTER"})") == "1";
    }, 10s)) << m << lb1.output();
    EXPECT_EQ(value(m, R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="BACKUP"})"), "0") << m;
    EXPECT_EQ(value(m, R"(lvsd_vrrp_priority{vrrp_instance="VI_1"})"), "100");
    EXPECT_EQ(value(m, R"(lvsd_vrrp_effective_priority{vrrp_instance="VI_1"})"), "100");
    EXPECT_EQ(value(m, R"(lvsd_vrrp_instance_info{vrrp_instance="VI_1",interface="eth0",vrid="51",version="3"})"), "1");
    EXPECT_EQ(value(m, R"(lvsd_vrrp_transitions_total{vrrp_instance="VI_1"})"), "2");  // INIT->BACKUP->MASTER
    EXPECT_EQ(value(m, "lvsd_config_generation"), "1");
    EXPECT_NE(value(m, R"(lvsd_vrrp_garps_sent_total{vrrp_instance="VI_1"})"), "0");
    EXPECT_EQ(m.find("lvsd_ipvs_"), std::string::npos) << "a VRRP-only config has no IPVS series";

    // The whole scrape parses with the reference parser.
    auto parsed = lab_.sh("lb1", "curl -sS --max-time 5 http://127.0.0.1:9100/metrics | /usr/bin/python3 -c '" +
                                     std::string(kParse) + "'");
    ASSERT_EQ(parsed.status, 0) << parsed.output;
    EXPECT_GT(std::stoi(parsed.output), 30) << parsed.output;
    // Headers as Prometheus expects them.
    auto head = lab_.exec("lb1", {"curl", "-sS", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:9100/metrics"});
    EXPECT_NE(head.output.find("HTTP/1.1 200 OK"), std::string::npos) << head.output;
    EXPECT_NE(head.output.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << head.output;

    // A higher priority pre-empts lb1: its series say BACKUP, and it counts lb2's adverts.
    auto lb2 = lab_.spawn("lb2", {kLvsd, "-f", write("lb2", config("lb2", 200, ""))});
    ASSERT_TRUE(wait_until([&] {
        m = scrape("lb1", "127.0.0.1:9100").output;
        return value(m, R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="BACKUP"})") == "1";
    }, 10s)) << m << lb1.output() << lb2.output();
    EXPECT_EQ(value(m, R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="MASTER"})"), "0") << m;
    EXPECT_EQ(value(m, R"(lvsd_vrrp_transitions_total{vrrp_instance="VI_1"})"), "3") << m;
    EXPECT_NE(value(m, R"(lvsd_vrrp_adverts_received_total{vrrp_instance="VI_1"})"), "0") << m;
    EXPECT_NE(value(m, R"(lvsd_metrics_http_responses_total{code="200"})"), "") << m;

    // Other paths and methods.
    auto r404 = lab_.exec("lb1", {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:9100/"});
    EXPECT_EQ(r404.output, "404");
    auto r405 = lab_.exec("lb1", {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  "http://127.0.0.1:9100/metrics"});
    EXPECT_EQ(r405.output, "405");
}

TEST_F(MetricsEndpoint, HostileClientsAreCutOffAndCounted) {
    const std::string ns = lab_.netns_name("lb1");
    auto lb1 = lab_.spawn("lb1", {kLvsd, "-f", write("lb1", config("lb1", 100, "192.0.2.2:9100"))});
    ASSERT_TRUE(wait_until([&] { return scrape("lb1", "192.0.2.2:9100").ok(); }, 10s)) << lb1.output();

    // An oversized head (over 8 KiB): 431, and the connection is closed.
    {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        ASSERT_GE(fd, 0);
        send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
        auto r = read_to_eof(fd, 5s);
        ::close(fd);
        ASSERT_TRUE(r) << "the server kept the connection open";
        EXPECT_TRUE(r->starts_with("HTTP/1.1 431 ")) << *r;
    }
    // Bare LFs instead of CRLFs are tolerated (RFC 9112 §2.2), HEAD has no body.
    {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        ASSERT_GE(fd, 0);
        send_all(fd, "HEAD /metrics HTTP/1.0\n\n");
        auto r = read_to_eof(fd, 5s);
        ::close(fd);
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->starts_with("HTTP/1.1 200 OK\r\n")) << *r;
        EXPECT_TRUE(r->ends_with("Connection: close\r\n\r\n")) << *r;
    }
    // A request with a body: 413, counted; the body is never read.
    {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        ASSERT_GE(fd, 0);
        send_all(fd, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(20000, 'b'));
        auto r = read_to_eof(fd, 5s);
        ::close(fd);
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->starts_with("HTTP/1.1 413 ")) << *r;
    }
    // Garbage (a TLS hello): 400.
    {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        ASSERT_GE(fd, 0);
        send_all(fd, std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15));
        auto r = read_to_eof(fd, 5s);
        ::close(fd);
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->starts_with("HTTP/1.1 400 ")) << *r;
    }
    // Silent clients (slowloris): one trickles a partial head, the others send nothing,
    // together they fill the connection cap (16). The next connection gets a 503 at once.
    std::vector<int> silent;
    for (int i = 0; i < 16; ++i) {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        ASSERT_GE(fd, 0);
        silent.push_back(fd);
    }
    send_all(silent[0], "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(wait_until([&] {
        int fd = connect_in(ns, "192.0.2.2", 9100);
        if (fd < 0) return false;
        auto r = read_to_eof(fd, 2s);
        ::close(fd);
        return r && r->starts_with("HTTP/1.1 503 ");
    }, 3s));
    // Every silent connection is cut at the read deadline (5 s), however little it sent.
    for (int fd : silent) {
        auto r = read_to_eof(fd, 10s);
        EXPECT_TRUE(r && r->empty()) << "a silent client got an answer or was never cut off";
        ::close(fd);
    }
    const auto held = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(held, 9s);
    // Served again, and every rejection counted.
    std::string m;
    ASSERT_TRUE(wait_until([&] {
        m = scrape("lb1", "192.0.2.2:9100").output;
        return value(m, R"(lvsd_metrics_http_rejected_total{reason="read_timeout"})") == "16";
    }, 5s)) << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_rejected_total{reason="header_too_large"})"), "1") << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_rejected_total{reason="malformed"})"), "1") << m;
    EXPECT_NE(value(m, R"(lvsd_metrics_http_rejected_total{reason="connection_limit"})"), "0") << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_responses_total{code="431"})"), "1") << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_responses_total{code="400"})"), "1") << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_rejected_total{reason="body_too_large"})"), "1") << m;
    EXPECT_EQ(value(m, R"(lvsd_metrics_http_responses_total{code="413"})"), "1") << m;
    EXPECT_EQ(value(m, "lvsd_metrics_http_open_connections"), "1") << m;  // this scrape
    // Nothing of it above debug level in the log.
    EXPECT_EQ(lb1.output().find("read_timeout"), std::string::npos) << lb1.output();
    EXPECT_TRUE(lb1.running());
}

TEST_F(MetricsEndpoint, ReloadAddsMovesKeepsAndRemovesTheEndpoint) {
    const std::string conf = write("lb1", config("lb1", 100, ""));
    auto lb1 = lab_.spawn("lb1", {kLvsd, "-f", conf});
    ASSERT_TRUE(wait_until([&] { return lvsctl("lb1", {"status"}).output.find("generation 1") != std::string::npos; },
                           10s))
        << lb1.output();
    EXPECT_FALSE(scrape("lb1", "127.0.0.1:9100").ok());

    // Added.
    write("lb1", config("lb1", 100, "127.0.0.1:9100"));
    auto added = lvsctl("lb1", {"reload"});
    ASSERT_EQ(added.status, 0) << added.output << lb1.output();
    auto m = scrape("lb1", "127.0.0.1:9100");
    ASSERT_TRUE(m.ok()) << m.output << lb1.output();
    EXPECT_EQ(value(m.output, "lvsd_config_generation"), "2");
    EXPECT_EQ(value(m.output, R"(lvsd_config_reloads_total{result="success"})"), "1");

    // Moved to another port: the old one closes, the counters carry over.
    write("lb1", config("lb1", 100, "192.0.2.2:9101"));
    ASSERT_EQ(lvsctl("lb1", {"reload"}).status, 0) << lb1.output();
    EXPECT_FALSE(scrape("lb1", "127.0.0.1:9100").ok());
    m = scrape("lb1", "192.0.2.2:9101");
    ASSERT_TRUE(m.ok()) << m.output << lb1.output();
    EXPECT_EQ(value(m.output, R"(lvsd_metrics_http_responses_total{code="200"})"), "1") << m.output;

    // Same port on the wildcard address: the old socket holds it, so it is handed over.
    write("lb1", config("lb1", 100, "0.0.0.0:9101"));
    ASSERT_EQ(lvsctl("lb1", {"reload"}).status, 0) << lb1.output();
    ASSERT_TRUE(scrape("lb1", "127.0.0.1:9101").ok()) << lb1.output();

    // Not an address of this host: rejected with FILE:LINE of the key; the old endpoint
    // stays and the failure is counted.
    const std::string bad = write("lb1", config("lb1", 100, "203.0.113.1:9100"));
    auto rejected = lvsctl("lb1", {"reload"});
    EXPECT_EQ(rejected.status, 1) << rejected.output;
    EXPECT_NE(rejected.output.find(bad + ":2: global_defs.metrics_listen: cannot listen on 203.0.113.1:9100"),
              std::string::npos)
        << rejected.output;
    m = scrape("lb1", "127.0.0.1:9101");
    ASSERT_TRUE(m.ok()) << lb1.output();
    EXPECT_EQ(value(m.output, "lvsd_config_generation"), "4");
    EXPECT_EQ(value(m.output, R"(lvsd_config_reloads_total{result="failure"})"), "1");
    EXPECT_EQ(value(m.output, "lvsd_config_last_reload_successful"), "0");

    // A port someone else holds: rejected too, old endpoint kept.
    int holder = listen_in(lab_.netns_name("lb1"), "127.0.0.1", 9102);
    ASSERT_GE(holder, 0);
    write("lb1", config("lb1", 100, "127.0.0.1:9102"));
    rejected = lvsctl("lb1", {"reload"});
    EXPECT_EQ(rejected.status, 1) << rejected.output;
    EXPECT_NE(rejected.output.find("Address already in use"), std::string::npos) << rejected.output;
    EXPECT_TRUE(scrape("lb1", "127.0.0.1:9101").ok()) << lb1.output();

    // IPv6.
    write("lb1", config("lb1", 100, "[::1]:9103"));
    ASSERT_EQ(lvsctl("lb1", {"reload"}).status, 0) << lb1.output();
    EXPECT_FALSE(scrape("lb1", "127.0.0.1:9101").ok());
    m = lab_.exec("lb1", {"curl", "-sS", "-g", "--max-time", "5", "http://[::1]:9103/metrics"});
    ASSERT_TRUE(m.ok()) << m.output << lb1.output();
    EXPECT_EQ(value(m.output, R"(lvsd_vrrp_priority{vrrp_instance="VI_1"})"), "100");

    // Removed.
    write("lb1", config("lb1", 100, ""));
    ASSERT_EQ(lvsctl("lb1", {"reload"}).status, 0) << lb1.output();
    EXPECT_FALSE(lab_.exec("lb1", {"curl", "-sS", "-g", "--max-time", "5", "http://[::1]:9103/metrics"}).ok());

    // At start, a port in use is one clear error naming the key's line, and exit 1.
    auto second = lab_.exec("lb1", {kLvsd, "-f", write("lb3", config("lb3", 100, "127.0.0.1:9102"))}, 10s);
    ::close(holder);
    EXPECT_EQ(second.status, 1) << second.output;
    EXPECT_NE(second.output.find("cannot start: " + dir_ + "/lb3.conf:2: global_defs.metrics_listen: cannot listen on "
                                 "127.0.0.1:9102: Address already in use"),
              std::string::npos)
        << second.output;

    ASSERT_EQ(::kill(lb1.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lb1.running(); }, 5s));
    EXPECT_EQ(lb1.status(), 0) << lb1.output();
}
