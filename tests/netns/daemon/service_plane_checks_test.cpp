// The service plane with several checks per real server and a MISC_CHECK's dynamic
// weight, end to end but for the kernel: config -> monitor (real scripts) -> desired
// table -> reconciler -> an in-memory IPVS backend. Root: the scripts must be root's for
// the loader to accept them (script security).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "daemon/service_plane.hpp"
#include "support/memory_ipvs.hpp"

using namespace lvsd;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

class ServicePlaneChecks : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(::getuid(), 0u) << "the netns tier runs as root";
        char tmpl[] = "/tmp/lvt-spc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ::chmod(dir_.c_str(), 0755);
        script_ = dir_ + "/code.sh";
        std::ofstream(script_) << "#!/bin/sh\nexit $(cat " << dir_ << "/\"$1\")\n";
        ::chmod(script_.c_str(), 0755);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string text(bool dynamic) const {
        return fmt::format(R"(
virtual_servers = ( {{
  address = "192.0.2.10"; port = 8080; lb_algo = "wrr"; alpha = true; delay_loop = 0.1;
  real_servers = ( {{
    address = "192.0.2.21"; weight = 50;
    MISC_CHECK = ( {{ misc_path = "{0} a"; misc_timeout = 2; fall = 1; delay_before_retry = 0.1; }},
                   {{ misc_path = "{0} b"; misc_timeout = 2; fall = 1; delay_before_retry = 0.1; misc_dynamic = {1}; }} );
  }} );
}} );
)", script_, dynamic);
    }
    void code(const std::string& which, int status) { std::ofstream(dir_ + "/" + which) << status << "\n"; }

    // The weight of 192.0.2.21:8080 in the table; nullopt: not in it.
    std::optional<uint32_t> weight() const {
        for (const auto& [key, vs] : table_)
            for (const auto& [dkey, d] : vs.destinations)
                if (dkey.address == *parse_address("192.0.2.21")) return d.weight;
        return std::nullopt;
    }
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
        return done();
    }

    asio::io_context io_;
    ipvs::Table table_;
    std::string dir_, script_;
};

}  // namespace

TEST_F(ServicePlaneChecks, UpOnlyWhileEveryCheckIsUpWithTheDynamicWeightInTheTable) {
    code("a", 0);
    code("b", 7);
    auto r = config::load_string(text(true), "test.conf");
    ASSERT_TRUE(r.ok()) << config::to_string(r.diagnostics().front());
    daemon::ServicePlane plane(io_.get_executor(), std::make_unique<lvsd::testing::MemoryIpvs>(table_));
    ASSERT_TRUE(plane.apply(r.config()));
    EXPECT_EQ(weight(), std::nullopt);  // alpha: down until the checks pass

    // Both up; b's status 7 sets the weight to 5 instead of the configured 50.
    ASSERT_TRUE(run_until([&] { return weight() == 5u; })) << "weight " << weight().value_or(9999);

    // One of the two fails: out of the table.
    code("a", 1);
    ASSERT_TRUE(run_until([&] { return weight() == std::nullopt; }));

    // Back, with a new weight from b (12 - 2).
    code("b", 12);
    code("a", 0);
    ASSERT_TRUE(run_until([&] { return weight() == 10u; })) << "weight " << weight().value_or(9999);

    // Status 0 keeps the dynamic weight (keepalived).
    code("b", 0);
    io_.run_for(400ms);
    EXPECT_EQ(weight(), 10u);

    // A reload that turns misc_dynamic off: the check goes on (same command), its verdict
    // kept, and the configured weight is back.
    auto plain = config::load_string(text(false), "test.conf");
    ASSERT_TRUE(plain.ok()) << config::to_string(plain.diagnostics().front());
    ASSERT_TRUE(plane.apply(plain.config()));
    EXPECT_EQ(weight(), 50u);

    // Now any status but 0 is a failure: out of the table.
    code("b", 7);
    ASSERT_TRUE(run_until([&] { return weight() == std::nullopt; }));
}
