// A real server's check as the config says it, mapped to what the health checker takes.
#include <gtest/gtest.h>

#include "daemon/service_plane.hpp"

using namespace lvsd;
using namespace lvsd::daemon;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& checks) {
    auto r = config::load_string(R"(
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    delay_loop = 3;
    real_servers = ( )" + checks + R"( );
} );
)",
                                 "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

healthcheck::CheckSpec spec_of(const config::Config& c, size_t i) {
    const auto& vs = c.virtual_servers.at(0);
    const auto& rs = vs.real_servers.at(i);
    return check_spec(vs, rs, rs.checks.at(0));
}

}  // namespace

TEST(CheckSpec, TcpCheckIsHalfOpenByDefaultAndConnectWhenAsked) {
    auto c = parse(R"({ address = "192.0.2.21"; TCP_CHECK = { connect_timeout = 2; fall = 3; }; },
                      { address = "192.0.2.22"; TCP_CHECK = { half_open = false; connect_port = 81; }; })");
    auto a = spec_of(*c, 0);
    EXPECT_EQ(a.type, healthcheck::CheckType::Tcp);
    EXPECT_EQ(a.tcp_method, healthcheck::TcpMethod::HalfOpen);
    EXPECT_EQ(a.port, 8080);
    EXPECT_EQ(a.connect_timeout, 2s);
    EXPECT_EQ(a.fall, 3u);
    EXPECT_EQ(a.delay_loop, 3s);
    auto b = spec_of(*c, 1);
    EXPECT_EQ(b.tcp_method, healthcheck::TcpMethod::Connect);
    EXPECT_EQ(b.port, 81);
    // The same target probed both ways is two checks, not one shared verdict.
    auto b_same_target = b;
    b_same_target.address = a.address;
    b_same_target.port = a.port;
    b_same_target.connect_timeout = a.connect_timeout;
    b_same_target.fall = a.fall;
    EXPECT_NE(healthcheck::check_key(a), healthcheck::check_key(b_same_target));
    b_same_target.tcp_method = a.tcp_method;
    EXPECT_EQ(healthcheck::check_key(a), healthcheck::check_key(b_same_target));
}

TEST(CheckSpec, SmtpCheckCarriesItsHeloNameAndValidates) {
    auto c = parse(R"({ address = "192.0.2.21"; SMTP_CHECK = { helo_name = "lb1.example.test"; connect_port = 25; }; },
                      { address = "192.0.2.22"; SMTP_CHECK = { }; })");
    auto a = spec_of(*c, 0);
    EXPECT_EQ(a.type, healthcheck::CheckType::Smtp);
    EXPECT_EQ(a.helo_name, "lb1.example.test");
    EXPECT_EQ(a.port, 25);
    EXPECT_TRUE(healthcheck::validate(a));
    auto b = spec_of(*c, 1);
    EXPECT_EQ(b.helo_name, "smtpchecker.keepalived.org");
    EXPECT_EQ(b.port, 8080);
    EXPECT_TRUE(healthcheck::validate(b));
}
