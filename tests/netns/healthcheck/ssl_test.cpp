// SSL_GET against a real TLS server in a namespace: python3's ssl module serving files
// under certificates the test makes with `openssl req`/`openssl x509` (a CA of its own,
// a good server certificate and an expired one), and recording the SNI it is sent.
//
//   cli (this test thread) 192.0.2.1/24 ---- srv 192.0.2.2/24
//                                            :8443 good certificate, :8444 expired
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "healthcheck/http.hpp"
#include "servers.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;
namespace lt = lvsd::testing;

namespace {

const auto kSrv = *parse_address("192.0.2.2");
constexpr const char* kName = "www.example.test";

// Serves DIR over HTTPS on ADDR:PORT with CERT/KEY; writes each SNI it gets to SNI_FILE
// and, for each connection, 1 to SNI_FILE.reused when it resumed a TLS session, else 0.
constexpr const char* kServer = R"(
import functools, http.server, ssl, sys
root, cert, key, addr, port, sni_file = sys.argv[1:]
class Handler(http.server.SimpleHTTPRequestHandler):
    def setup(self):
        super().setup()
        with open(sni_file + ".reused", "a") as f:
            f.write("1\n" if self.request.session_reused else "0\n")
handler = functools.partial(Handler, directory=root)
srv = http.server.ThreadingHTTPServer((addr, int(port)), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def record(sock, name, c):
    with open(sni_file, "a") as f:
        f.write((name or "-") + "\n")
ctx.sni_callback = record
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
)";

// Answers every TLS connection on ADDR:PORT with the bytes of REPLY (read afresh for each),
// after the request head, and closes: a server whose exact bytes the test chooses.
constexpr const char* kRawServer = R"(
import socket, ssl, sys
cert, key, addr, port, reply = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.create_server((addr, int(port)))
while True:
    conn, _ = srv.accept()
    try:
        with ctx.wrap_socket(conn, server_side=True) as s:
            data = b""
            while b"\r\n\r\n" not in data:
                more = s.recv(4096)
                if not more:
                    break
                data += more
            with open(reply, "rb") as f:
                s.sendall(f.read())
    except (OSError, ssl.SSLError):
        pass
)";

class SslNetns : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("cli");
        lab_.netns("srv");
        lab_.veth("cli", "eth0", "srv", "eth0");
        lab_.address("cli", "eth0", "192.0.2.1/24");
        lab_.address("srv", "eth0", "192.0.2.2/24");
        char tmpl[] = "/tmp/lvt-ssl-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::filesystem::create_directories(dir_ + "/www");
        std::ofstream(dir_ + "/www/health") << body_;
        std::ofstream(dir_ + "/server.py") << kServer;
        std::ofstream(dir_ + "/ext") << "subjectAltName=DNS:" << kName << ",IP:192.0.2.2\n";
        auto openssl = [&](const std::string& args) {
            auto r = lab_.exec("srv", {"sh", "-c", "cd " + dir_ + " && openssl " + args + " 2>&1"});
            ASSERT_EQ(r.status, 0) << args << "\n" << r.output;
        };
        openssl("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=lvsd-test-ca -days 2");
        openssl("req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=" + std::string(kName));
        openssl("x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem -days 2 -extfile ext");
        // Valid until a day before it was issued: expired from the start.
        openssl("x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out expired.pem -days -1 -extfile ext");
        good_ = lab_.spawn("srv", {"python3", dir_ + "/server.py", dir_ + "/www", dir_ + "/good.pem", dir_ + "/srv.key",
                                   "192.0.2.2", "8443", dir_ + "/sni"});
        expired_ = lab_.spawn("srv", {"python3", dir_ + "/server.py", dir_ + "/www", dir_ + "/expired.pem",
                                      dir_ + "/srv.key", "192.0.2.2", "8444", dir_ + "/sni-expired"});
        in_cli_.emplace(lab_.netns_name("cli"));
        for (uint16_t port : {8443, 8444})
            ASSERT_TRUE(lt::wait_until(
                [&] { return run_probe(io_, spec_for(CheckType::Tcp, kSrv, port, 500ms, TcpMethod::Connect)).ok; }, 10s))
                << good_.output() << expired_.output();
    }

    void TearDown() override {
        in_cli_.reset();
        good_ = {};
        expired_ = {};
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    CheckSpec ssl(uint16_t port) {
        auto s = spec_for(CheckType::Ssl, kSrv, port, 3s);
        s.path = "/health";
        return s;
    }

    // Whether the server resumed a session, one character per connection so far.
    std::string reused(const std::string& file) {
        std::ifstream in(dir_ + "/" + file + ".reused");
        std::string all;
        for (std::string l; std::getline(in, l);) all += l;
        return all;
    }

    std::string sni_seen(const std::string& file) {
        std::ifstream in(dir_ + "/" + file);
        std::string last;
        for (std::string l; std::getline(in, l);) last = l;
        return last;
    }

    lt::Lab lab_;
    asio::io_context io_;
    std::string dir_;
    std::string body_ = "healthy over TLS\n";
    lt::Process good_, expired_;
    std::optional<InNetns> in_cli_;
};

}  // namespace

TEST_F(SslNetns, AGoodCertificatePassesWithSniStatusAndDigest) {
    auto s = ssl(8443);
    s.virtualhost = kName;
    s.digest = md5_hex(body_);
    auto r = run_probe(io_, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
    EXPECT_EQ(sni_seen("sni"), kName);
    // Verified against the test's CA, for the name and for the bare address (SAN IP).
    s.ssl_verify = true;
    s.ssl_ca = dir_ + "/ca.pem";
    auto v = run_probe(io_, s);
    EXPECT_TRUE(v.ok) << v.reason;
    auto by_address = ssl(8443);
    by_address.ssl_verify = true;
    by_address.ssl_ca = dir_ + "/ca.pem";
    auto a = run_probe(io_, by_address);
    EXPECT_TRUE(a.ok) << a.reason;
    EXPECT_EQ(sni_seen("sni"), "-");  // no SNI for an address
    // A wrong status fails like HTTP_GET.
    auto missing = ssl(8443);
    missing.path = "/none";
    auto m = run_probe(io_, missing);
    EXPECT_FALSE(m.ok);
    EXPECT_EQ(m.reason, "HTTP 404, expected 200-299");
}

TEST_F(SslNetns, AWrongDigestFails) {
    auto s = ssl(8443);
    s.digest = md5_hex("something else");
    auto r = run_probe(io_, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, fmt::format("HTTP 200 but the body's MD5 is {}, expected {}", md5_hex(body_), s.digest));
}

TEST_F(SslNetns, AnExpiredCertificateFailsOnlyWithVerification) {
    // keepalived's default: not verified, so the expired certificate passes.
    auto s = ssl(8444);
    s.virtualhost = kName;
    auto unverified = run_probe(io_, s);
    EXPECT_TRUE(unverified.ok) << unverified.reason;
    s.ssl_verify = true;
    s.ssl_ca = dir_ + "/ca.pem";
    auto r = run_probe(io_, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "TLS certificate rejected: certificate has expired");
    // The good certificate for a name it was not issued for is rejected too.
    auto other = ssl(8443);
    other.virtualhost = "other.example.test";
    other.ssl_verify = true;
    other.ssl_ca = dir_ + "/ca.pem";
    auto o = run_probe(io_, other);
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.reason.starts_with("TLS certificate rejected")) << o.reason;
    // And without the test's CA (the system's store), the good one is not trusted.
    auto system = ssl(8443);
    system.virtualhost = kName;
    system.ssl_verify = true;
    auto sys = run_probe(io_, system);
    EXPECT_FALSE(sys.ok);
    EXPECT_TRUE(sys.reason.starts_with("TLS certificate rejected")) << sys.reason;
}

TEST_F(SslNetns, APeerThatDoesNotSpeakTlsFailsTheHandshakeAtOnce) {
    std::unique_ptr<TestServer> plain;
    {
        InNetns in(lab_.netns_name("srv"));  // back in cli at the end of the block
        plain = std::make_unique<TestServer>(io_, tcp::endpoint{kSrv, 8445}, Behavior::CloseAtOnce);
    }
    auto r = run_probe(io_, ssl(8445));
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.reason.starts_with("TLS handshake failed")) << r.reason;
    EXPECT_LT(r.latency, 1s);
}

// keepalived makes a full handshake on every check; lvsd resumes the session of the last
// one (detail/tls_sessions.hpp), which skips the certificate, except when it verifies it.
TEST_F(SslNetns, UnverifiedChecksResumeTheSessionVerifiedOnesNever) {
    auto s = ssl(8443);
    s.virtualhost = kName;
    for (int i = 0; i < 3; ++i) {
        auto r = run_probe(io_, s);
        EXPECT_TRUE(r.ok) << r.reason;
        EXPECT_EQ(r.reason, "HTTP 200");
    }
    EXPECT_EQ(reused("sni"), "011");
    EXPECT_EQ(sni_seen("sni"), kName);  // resumed handshakes still name the host
    // A session is bound to its SNI: the same server without one starts afresh.
    auto by_address = ssl(8443);
    EXPECT_TRUE(run_probe(io_, by_address).ok);
    EXPECT_EQ(reused("sni"), "0110");
    // Verified checks judge the certificate every time.
    auto v = s;
    v.ssl_verify = true;
    v.ssl_ca = dir_ + "/ca.pem";
    EXPECT_TRUE(run_probe(io_, v).ok);
    EXPECT_TRUE(run_probe(io_, v).ok);
    EXPECT_EQ(reused("sni"), "011000");
    // A failed check forgets the session: the next check is a full handshake.
    auto missing = s;
    missing.path = "/none";
    EXPECT_FALSE(run_probe(io_, missing).ok);
    auto again = run_probe(io_, s);
    EXPECT_TRUE(again.ok) << again.reason;
    EXPECT_EQ(reused("sni"), "01100010");
    // The digest is still the whole body's on a resumed connection.
    s.digest = md5_hex(body_);
    auto d = run_probe(io_, s);
    EXPECT_TRUE(d.ok) << d.reason;
    EXPECT_EQ(reused("sni"), "011000101");
}

// RFC 9110 section 15.2 over TLS: interim responses before the final one are skipped, 101
// and a connection that ends after interim responses only fail with their reasons.
TEST_F(SslNetns, InterimResponsesAreSkippedOverTlsToo) {
    std::ofstream(dir_ + "/raw.py") << kRawServer;
    const auto reply = [&](const std::string& bytes) { std::ofstream(dir_ + "/reply", std::ios::trunc) << bytes; };
    reply("HTTP/1.1 100 Continue\r\n\r\n"
          "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n" +
          http_response(200, body_));
    auto raw = lab_.spawn("srv", {"python3", dir_ + "/raw.py", dir_ + "/good.pem", dir_ + "/srv.key", "192.0.2.2",
                                  "8446", dir_ + "/reply"});
    ASSERT_TRUE(lt::wait_until(
        [&] { return run_probe(io_, spec_for(CheckType::Tcp, kSrv, 8446, 500ms, TcpMethod::Connect)).ok; }, 10s))
        << raw.output();
    auto s = ssl(8446);
    s.virtualhost = kName;
    s.digest = md5_hex(body_);
    auto r = run_probe(io_, s);
    EXPECT_TRUE(r.ok) << r.reason << raw.output();
    EXPECT_EQ(r.reason, "HTTP 200");

    reply("HTTP/1.1 100 Continue\r\n\r\n");
    r = run_probe(io_, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP: connection closed after an interim 100 response, before the final response");

    reply("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
    r = run_probe(io_, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP: the server switched protocols (101) though the request asked for no upgrade");
}
