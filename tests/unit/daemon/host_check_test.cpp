// The reload's host check (validate, check against the host, apply) for the services:
// a health check's bindto must be an address of this host, or every probe of it fails
// and takes its real server down.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "daemon/service_plane.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

// Line 5 holds the first real server, line 6 the second, line 7 the third.
std::shared_ptr<const config::Config> parse(const std::string& rs1, const std::string& rs2,
                                            const std::string& rs3) {
    auto r = config::load_string(R"(
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    real_servers = (
        { address = "192.0.2.21"; )" + rs1 + R"( },
        { address = "192.0.2.22"; )" + rs2 + R"( },
        { address = "192.0.2.23"; )" + rs3 + R"( }
    );
} );
)",
                                 "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

// This host has 192.0.2.2 and 2001:db8::2; asked addresses are recorded.
struct FakeHost {
    std::vector<std::string> asked;
    std::function<bool(const IpAddress&)> predicate() {
        return [this](const IpAddress& a) {
            asked.push_back(a.to_string());
            return a == *parse_address("192.0.2.2") || a == *parse_address("2001:db8::2");
        };
    }
};

}  // namespace

TEST(HostCheck, ABindtoThatIsOursOrNoBindtoPasses) {
    auto c = parse(R"(TCP_CHECK = { bindto = "192.0.2.2"; };)", R"(TCP_CHECK = { };)", "");
    ASSERT_TRUE(c);
    FakeHost host;
    EXPECT_TRUE(check_against_host(*c, host.predicate()));
    // Only the check with a bindto asks the host.
    EXPECT_EQ(host.asked, std::vector<std::string>{"192.0.2.2"});
}

TEST(HostCheck, EveryBindtoThatIsNotOursIsNamedWithFileAndLine) {
    auto c = parse(R"(TCP_CHECK = { bindto = "203.0.113.99"; };)", R"(TCP_CHECK = { bindto = "192.0.2.2"; };)",
                   R"(HTTP_GET = { bindto = "192.0.2.3"; };)");
    ASSERT_TRUE(c);
    FakeHost host;
    auto r = check_against_host(*c, host.predicate());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "test.conf:5: TCP_CHECK of real server 192.0.2.21:8080 in TCP 192.0.2.10:8080: bindto 203.0.113.99 is "
              "not an address of this host (every probe would fail and take the real server down); "
              "test.conf:7: HTTP_GET of real server 192.0.2.23:8080 in TCP 192.0.2.10:8080: bindto 192.0.2.3 is not "
              "an address of this host (every probe would fail and take the real server down)");
    EXPECT_EQ(host.asked.size(), 3u);
}

TEST(HostCheck, AConfigWithoutServicesHasNothingToCheck) {
    auto r = config::load_string("global_defs = { };\n", "empty.conf");
    ASSERT_TRUE(r.ok());
    FakeHost host;
    EXPECT_TRUE(check_against_host(*r.config(), host.predicate()));
    EXPECT_TRUE(host.asked.empty());
}
