// keepalived's own reading of the corpus, checker half (keepalived_reading.hpp): the
// checker child dumps its virtual servers only after IPVS is initialised, so this runs in
// the kernel tier's VM. For every case whose checked-in reading says keepalived starts a
// checker child (the netns tier checks that fact), runs keepalived -C with the recorded
// host setup and compares virtual_servers and virtual_server_groups with the checked-in
// reading; every config message the checker logs here must be among the checked-in ones
// (the netns tier saw the checker's messages before its IPVS failed; one logged after
// that would be missing there).
//
//   tests/kernel/vm-run -- build/tests/kernel_config --gtest_filter='KeepalivedReading*'
// Regenerating: see tests/netns/config/keepalived_reading_test.cpp (LVSD_KA_READING_WRITE
// names the directory, shared with the VM by vm-run --out, whose readings get this half).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/keepalived_reading.hpp"
#include "support/netns_lab.hpp"

namespace ka = lvsd::testing::keepalived;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string kCorpus = LVSD_SOURCE_DIR "/tests/data/keepalived_corpus";
const std::string kReadings = LVSD_SOURCE_DIR "/tests/data/keepalived_reading";
const std::vector<std::string> kOwned = {"virtual_servers", "virtual_server_groups"};

bool starts_checker(const json::value& reading) {
    const auto* kids = reading.as_object().if_contains("children");
    if (!kids || !kids->is_array()) return false;
    for (const auto& k : kids->as_array())
        if (k == "checker") return true;
    return false;
}

struct Result {
    json::object half;  // virtual_servers, virtual_server_groups
    std::vector<std::string> problems;
};

Result read(const ka::Case& c, const json::value& want) {
    Result r;
    const auto run = ka::run(c.conf, ka::Part::checker, c.config_id, ka::host_setup_from(want), 120s);
    if (run.timed_out) {
        r.problems.push_back("keepalived -C did not settle in time; its log:\n" + run.output);
        return r;
    }
    const auto lines = ka::log_lines(run.output);
    try {
        r.half = ka::checker_reading(lines);
    } catch (const std::exception& e) {
        r.problems.push_back(fmt::format("cannot read keepalived's checker dump: {}; its log:\n{}", e.what(), run.output));
        return r;
    }
    if (r.half["virtual_servers"].as_array().empty() && r.half["virtual_server_groups"].as_array().empty())
        r.problems.push_back("keepalived -C dumped no virtual server; its log:\n" + run.output);
    const json::array known = want.as_object().contains("messages") ? want.at("messages").as_array() : json::array{};
    for (const auto& m : ka::messages(std::vector<std::vector<std::string>>{lines}, c.conf, kCorpus))
        if (std::find(known.begin(), known.end(), m) == known.end())
            r.problems.push_back("the checker logs a message the checked-in reading lacks: " + json::serialize(m));
    return r;
}

TEST(KeepalivedReading, CheckerHalfMatchesTheCheckedInReadings) {
    ASSERT_EQ(::getuid(), 0u) << "the kernel tier runs as root";
    // The readings are Debian's keepalived 2.2.7's (scripts/setup installs it).
    const auto version = lvsd::testing::run({"keepalived", "--version"});
    ASSERT_NE(version.output.find("Keepalived v2.2.7"), std::string::npos)
        << "the checked-in readings are keepalived 2.2.7's; `keepalived --version` says:\n" << version.output;
    const char* out_dir = std::getenv("LVSD_KA_READING_WRITE");
    const bool write = out_dir && *out_dir;
    const std::string dir = write ? out_dir : kReadings;
    std::vector<ka::Case> cases;
    std::vector<json::value> wants;
    for (const auto& c : ka::corpus(kCorpus)) {
        const std::string path = dir + "/" + c.reading;
        if (!fs::exists(path)) {
            ADD_FAILURE() << path << ": no reading (the netns tier writes the VRRP half first)";
            continue;
        }
        auto want = ka::read_json(path);
        if (!starts_checker(want)) continue;
        cases.push_back(c);
        wants.push_back(std::move(want));
    }
    ASSERT_FALSE(cases.empty()) << "no corpus file starts keepalived's checker: the readings in " << dir << " are wrong";

    // The VM has two CPUs; keepalived mostly waits on IPVS and the console.
    std::vector<Result> results(cases.size());
    std::atomic<std::size_t> next{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < 2; ++w)
        workers.emplace_back([&] {
            for (std::size_t i; (i = next++) < cases.size();) {
                try {
                    results[i] = read(cases[i], wants[i]);
                } catch (const std::exception& e) {
                    results[i].problems.push_back(e.what());
                }
            }
        });
    for (auto& t : workers) t.join();
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("[ reading  ] {} cases with a checker in {:.1f} s\n", cases.size(), secs);

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        for (const auto& p : results[i].problems) ADD_FAILURE() << c.reading << ": " << p;
        if (results[i].half.empty()) continue;  // nothing read to compare
        if (write) {
            if (!results[i].problems.empty()) continue;
            auto merged = wants[i].as_object();
            for (const auto& k : kOwned) merged[k] = results[i].half[k];
            ka::write_json(dir + "/" + c.reading, merged);
            continue;
        }
        for (const auto& d : ka::differences(wants[i], results[i].half, kOwned)) ADD_FAILURE() << c.reading << ": " << d;
    }
}

}  // namespace
