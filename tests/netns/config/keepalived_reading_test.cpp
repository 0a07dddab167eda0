// keepalived's own reading of the corpus, VRRP half (keepalived_reading.hpp): for every
// tests/data/keepalived_corpus/*.conf (one per config id for files with @name lines), runs
// Debian's keepalived with -P and -C on this host and compares what it reads with the
// checked-in tests/data/keepalived_reading/*.json: the host setup, the messages, which
// children it starts, whether it refuses the file, and the VRRP part. The checker's dump
// needs IPVS, so virtual_servers and virtual_server_groups are the kernel tier's
// (tests/kernel/config/keepalived_reading_test.cpp).
//
// Regenerate (after a keepalived upgrade or a corpus change), as root, in this order:
//   LVSD_KA_READING_WRITE=$PWD/tests/data/keepalived_reading build/tests/netns_config
//   tests/kernel/vm-run --out tests/data/keepalived_reading -- env
//     LVSD_KA_READING_WRITE=$PWD/tests/data/keepalived_reading build/tests/kernel_config
// Writing mode learns each file's host setup from keepalived's complaints (a few runs)
// and keeps the checker half of an existing reading.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/keepalived_reading.hpp"
#include "support/netns_lab.hpp"

namespace ka = lvsd::testing::keepalived;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kCorpus = LVSD_SOURCE_DIR "/tests/data/keepalived_corpus";
const std::string kReadings = LVSD_SOURCE_DIR "/tests/data/keepalived_reading";

// The fields this tier owns (SCHEMA.md).
const std::vector<std::string> kOwned = {"file", "config_id", "host", "children", "rejected", "messages",
                                         "vrrp_scripts", "vrrp_instances", "sync_groups"};

struct Reading {
    json::object value;
    std::vector<std::string> problems;  // cannot run, cannot parse
};

// Both runs of one case with `setup`; the reading without the checker half.
json::object read_once(const ka::Case& c, const ka::HostSetup& setup, ka::HostSetup& missing) {
    const auto vrrp = ka::run(c.conf, ka::Part::vrrp, c.config_id, setup);
    const auto check = ka::run(c.conf, ka::Part::checker, c.config_id, setup);
    for (const auto* r : {&vrrp, &check})
        if (r->timed_out) throw std::runtime_error("keepalived did not settle in time; its log:\n" + r->output);
    const auto vl = ka::log_lines(vrrp.output), cl = ka::log_lines(check.output);
    missing = ka::missing(vl);
    missing.merge(ka::missing(cl));
    json::object o;
    o["file"] = fs::path(c.conf).filename().string();
    if (!c.config_id.empty()) o["config_id"] = c.config_id;
    o["host"] = ka::to_json(setup);
    json::array kids;
    for (const auto& k : ka::children(vl)) kids.emplace_back(k);
    for (const auto& k : ka::children(cl)) kids.emplace_back(k);
    o["children"] = std::move(kids);
    std::string refused = ka::rejection(vl);
    if (refused.empty()) refused = ka::rejection(cl);
    if (!refused.empty()) o["rejected"] = refused;
    o["messages"] = ka::messages({vl, cl}, c.conf, kCorpus);
    try {
        for (auto& [k, v] : ka::vrrp_reading(vl)) o[k] = v;
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("cannot read keepalived's VRRP dump: {}; its log:\n{}", e.what(), vrrp.output));
    }
    return o;
}

Reading read(const ka::Case& c, bool learn) {
    Reading r;
    const std::string path = kReadings + "/" + c.reading;
    json::value old;
    if (fs::exists(path)) old = ka::read_json(path);
    ka::HostSetup setup = learn ? ka::HostSetup{} : ka::host_setup_from(old);
    if (!learn && !fs::exists(path)) {
        r.problems.push_back(fmt::format("{}: no reading checked in (see the header of this test to write one)", path));
        return r;
    }
    ka::HostSetup missing;
    r.value = read_once(c, setup, missing);
    // Learning: add what keepalived missed and read again, until it misses nothing.
    for (int round = 0; learn && !missing.empty(); ++round) {
        if (round == 6 || !setup.merge(missing)) {
            r.problems.push_back(fmt::format("{}: keepalived still misses {} after {} rounds", c.reading,
                                             json::serialize(ka::to_json(missing)), round));
            break;
        }
        r.value = read_once(c, setup, missing);
    }
    if (learn && old.is_object())
        for (const char* k : {"virtual_servers", "virtual_server_groups"})
            if (const auto* v = old.as_object().if_contains(k)) r.value[k] = *v;
    return r;
}

TEST(KeepalivedReading, VrrpHalfMatchesTheCheckedInReadings) {
    ASSERT_EQ(::getuid(), 0u) << "the netns tier runs as root";
    // The readings are Debian's keepalived 2.2.7's (scripts/setup installs it).
    const auto version = lvsd::testing::run({"keepalived", "--version"});
    ASSERT_NE(version.output.find("Keepalived v2.2.7"), std::string::npos)
        << "the checked-in readings are keepalived 2.2.7's; `keepalived --version` says:\n" << version.output;
    const char* out_dir = std::getenv("LVSD_KA_READING_WRITE");
    const bool learn = out_dir && *out_dir;
    const auto cases = ka::corpus(kCorpus);
    ASSERT_GE(cases.size(), 60u) << "the corpus in " << kCorpus << " is incomplete";

    // keepalived takes about a second per run, mostly waiting; three cases at a time.
    std::vector<Reading> readings(cases.size());
    std::atomic<std::size_t> next{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w)
        workers.emplace_back([&] {
            for (std::size_t i; (i = next++) < cases.size();) {
                try {
                    readings[i] = read(cases[i], learn);
                } catch (const std::exception& e) {
                    readings[i].problems.push_back(fmt::format("{}: {}", cases[i].reading, e.what()));
                }
            }
        });
    for (auto& t : workers) t.join();
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("[ reading  ] {} cases in {:.1f} s\n", cases.size(), secs);

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        for (const auto& p : readings[i].problems) ADD_FAILURE() << p;
        if (!readings[i].problems.empty()) continue;
        if (learn) {
            ka::write_json(std::string(out_dir) + "/" + c.reading, readings[i].value);
            continue;
        }
        const auto want = ka::read_json(kReadings + "/" + c.reading);
        for (const auto& d : ka::differences(want, readings[i].value, kOwned)) ADD_FAILURE() << c.reading << ": " << d;
    }
}

}  // namespace
