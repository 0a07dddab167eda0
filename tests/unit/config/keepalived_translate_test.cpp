// The importer's rules on small keepalived texts: what is translated, written out, left out
// with a comment, or refused with the keepalived line (README "Migrating from keepalived").
#include <random>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/keepalived_translate.hpp"

namespace lvsd::config::keepalived {
namespace {

Translation of(std::string_view text) { return translate(read_string(text, "ka.conf", {.host_name = "lb1"}), "ka.conf"); }

std::string all(const std::vector<Diagnostic>& ds) {
    std::string out;
    for (const auto& d : ds) out += to_string(d) + "\n";
    return out;
}

constexpr std::string_view kInstance = R"(vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    # the standby
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
)";

TEST(KeepalivedTranslate, AnInstanceBecomesAListElementWithItsCommentsAndLoads) {
    auto t = of(kInstance);
    ASSERT_TRUE(t.ok()) << all(t.errors);
    EXPECT_NE(t.text.find("vrrp_instances = ("), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("name = \"VI_1\";"), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("# the standby\n        priority = 100;"), std::string::npos) << t.text;
    auto loaded = load_string(t.text, "out", LoadOptions{.host_checks = false});
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.config()->vrrp_instances[0].virtual_ipaddress[0].prefix.length, 24);
}

TEST(KeepalivedTranslate, KeepalivedsDefaultsThatDifferFromLvsdsAreWrittenOut) {
    auto t = of(R"(vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10
    }
}
virtual_server 192.0.2.10 80 {
    persistence_timeout
    real_server 198.51.100.1 80 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
)");
    ASSERT_TRUE(t.ok()) << all(t.errors);
    EXPECT_NE(t.text.find("priority = 255;"), std::string::npos) << "keepalived's default with state MASTER\n" << t.text;
    EXPECT_NE(t.text.find("lb_kind = \"NAT\";"), std::string::npos) << "keepalived's default forwarding\n" << t.text;
    EXPECT_NE(t.text.find("persistence_timeout = 360;"), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("retry = 0;"), std::string::npos) << "keepalived's MISC_CHECK retry\n" << t.text;
    EXPECT_NE(all(t.warnings).find("ka.conf:10: persistence_timeout without a value"), std::string::npos) << all(t.warnings);
}

TEST(KeepalivedTranslate, WhatChangesNothingIsLeftOutWithAWarningAndAComment) {
    auto t = of(std::string(R"(global_defs {
    notification_email {
        ops@example.com
    }
    smtp_server 192.0.2.25
    router_id lb1
}
)") + std::string(kInstance));
    ASSERT_TRUE(t.ok()) << all(t.errors);
    EXPECT_NE(t.text.find("# not translated (ka.conf:2): notification_email { ... } -- lvsd sends no mail"), std::string::npos)
        << t.text;
    EXPECT_NE(all(t.warnings).find("ka.conf:5: not translated: smtp_server 192.0.2.25"), std::string::npos) << all(t.warnings);
    EXPECT_NE(t.text.find("router_id = \"lb1\";"), std::string::npos);
}

TEST(KeepalivedTranslate, AMisspeltKeywordIsRefusedAtItsLineWithAHint) {
    auto t = of(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    lvs_sync_daemon_inteface eth1
    virtual_ipaddress {
        192.0.2.10
    }
}
)");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(all(t.errors).find("ka.conf:4: unknown keyword 'lvs_sync_daemon_inteface' in vrrp_instance: keepalived ignores "
                                 "it; did you mean 'lvs_sync_daemon_interface'?"),
              std::string::npos)
        << all(t.errors);
}

TEST(KeepalivedTranslate, ValuesKeepalivedIgnoresAreRefused) {
    auto sched = of("virtual_server 192.0.2.10 80 {\n    lb_algo rrr\n}\n");
    EXPECT_NE(all(sched.errors).find("ka.conf:2: lb_algo 'rrr' is not an IPVS scheduler (did you mean 'rr'?)"), std::string::npos)
        << all(sched.errors);
    auto kind = of("virtual_server 192.0.2.10 80 {\n    lb_kind dr\n}\n");
    EXPECT_NE(all(kind.errors).find("ka.conf:2: lb_kind 'dr' is not NAT, DR or TUN"), std::string::npos) << all(kind.errors);
    auto order = of(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_script {
        chk
    }
}
vrrp_script chk {
    script "/bin/true"
}
)");
    EXPECT_NE(all(order.errors).find("ka.conf:5: track_script 'chk': no vrrp_script of that name is defined above"),
              std::string::npos)
        << all(order.errors);
}

TEST(KeepalivedTranslate, AuthTypeAhIsTranslatedWithItsKey) {
    auto ah = of(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    authentication {
        auth_type AH
        auth_pass secret
    }
}
)");
    EXPECT_TRUE(ah.errors.empty()) << all(ah.errors);
    EXPECT_NE(ah.text.find("auth_type = \"AH\""), std::string::npos) << ah.text;
    EXPECT_NE(ah.text.find("auth_pass = \"secret\""), std::string::npos) << ah.text;
    // keepalived starts a non-owner with AH as BACKUP, whatever `state` says.
    auto master = of("vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n"
                     "    priority 150\n    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n}\n");
    EXPECT_TRUE(master.errors.empty()) << all(master.errors);
    EXPECT_NE(master.text.find("state = \"BACKUP\""), std::string::npos) << master.text;
}

TEST(KeepalivedTranslate, LvsdsOwnRulesAreReportedAtTheKeepalivedLine) {
    auto t = of(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        224.0.0.5
    }
}
)");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(all(t.errors).find("ka.conf:5: lvsd refuses the translation: "), std::string::npos) << all(t.errors);
}

TEST(KeepalivedTranslate, HostileInputEndsInErrorsNotACrash) {
    std::mt19937 rng(7);
    std::string noise(64 * 1024, '\0');
    for (auto& ch : noise) ch = static_cast<char>(rng());
    EXPECT_FALSE(of(noise).ok());
    EXPECT_FALSE(of(std::string(100000, '{')).ok());
    EXPECT_FALSE(of("virtual_server {\n real_server {\n TCP_CHECK {\n }\n }\n }\n").ok());
    auto empty = of("");
    EXPECT_TRUE(empty.ok()) << all(empty.errors);
    EXPECT_TRUE(load_string(empty.text, "out").ok());
}

}  // namespace
}  // namespace lvsd::config::keepalived

namespace lvsd::config::keepalived {
namespace {

TEST(KeepalivedTranslate, TheOriginalsHeaderCommentsStayAHeader) {
    auto t = translate(read_string(std::string("# keepalived for the web pair\n! lb1 of two\n\n# unattached, later\n\n") +
                                       std::string(kInstance) + "# at the end\n",
                                   "ka.conf", {.host_name = "lb1"}),
                       "ka.conf");
    ASSERT_TRUE(t.ok()) << all(t.errors);
    EXPECT_NE(t.text.find("(the scripts it names must exist there).\n#\n# keepalived for the web pair\n# lb1 of two\n"
                          "# unattached, later\n\nvrrp_instances"),
              std::string::npos)
        << t.text;
    EXPECT_EQ(t.text.find("at the end"), std::string::npos) << t.text;
}

}  // namespace
}  // namespace lvsd::config::keepalived

namespace lvsd::config::keepalived {
namespace {

// keepalived's scheduling keys of its VRRP process become lvsd's of its VRRP thread
// (vrrp_rlimit_rtime is keepalived's older spelling of vrrp_rlimit_rttime).
TEST(KeepalivedTranslate, TheVrrpSchedulingKeysAreTranslated) {
    auto t = of(std::string("global_defs {\n    vrrp_rt_priority 20\n    vrrp_rlimit_rtime 5000\n    vrrp_no_swap\n}\n") +
                std::string(kInstance));
    ASSERT_TRUE(t.ok()) << all(t.errors);
    EXPECT_NE(t.text.find("vrrp_rt_priority = 20;"), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("vrrp_rlimit_rttime = 5000;"), std::string::npos) << t.text;
    EXPECT_NE(t.text.find("vrrp_no_swap = true;"), std::string::npos) << t.text;
    auto loaded = load_string(t.text, "out", LoadOptions{.host_checks = false});
    ASSERT_TRUE(loaded.ok());
    const auto& s = loaded.config()->global.vrrp_scheduling;
    EXPECT_EQ(s.rt_priority, 20);
    EXPECT_EQ(s.rlimit_rttime, std::chrono::microseconds(5000));
    EXPECT_TRUE(s.no_swap);

    auto below = of(std::string("global_defs {\n    vrrp_rlimit_rttime 500\n}\n") + std::string(kInstance));
    ASSERT_FALSE(below.ok());
    EXPECT_NE(all(below.errors).find("ka.conf:2:"), std::string::npos) << all(below.errors);
    auto zero = of(std::string("global_defs {\n    vrrp_rt_priority 0\n}\n") + std::string(kInstance));
    ASSERT_FALSE(zero.ok());
    EXPECT_NE(all(zero.errors).find("ka.conf:2:"), std::string::npos) << all(zero.errors);
}

}  // namespace
}  // namespace lvsd::config::keepalived
