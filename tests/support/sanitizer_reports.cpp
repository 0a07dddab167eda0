// The sanitizer tier (scripts/test sanitize) runs the unit and netns tests from a tree built
// with AddressSanitizer and UndefinedBehaviorSanitizer, lvsd and lvsctl included. A test
// binary's own report fails it (the report is on its stderr and it exits non-zero), but a
// report in a program it starts would not: an lvsd that a test stops with SIGTERM and never
// asks for its exit status finds its leaks on the way out, and its stderr is a log file few
// tests read.
//
// So, when LVSD_SANITIZER_REPORTS names a directory, this listener (linked into every test
// binary; without the variable it does nothing) gives the programs this binary starts a
// log_path of their own, <dir>/<binary>.<pid>/report.<child pid>, and fails the test during
// which a report appeared there, with the report as the failure message. scripts/test also
// fails the tier for any report left in the directory (one that came after its test ended).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

// A file the sanitizer runtimes wrote that is a report, not a notice (ASan writes "INFO:
// ignores mlock" and similar through the same file).
bool is_report(const std::string& text) {
    for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                             "ERROR: UndefinedBehaviorSanitizer", "SUMMARY: "}) {
        if (text.find(mark) != std::string::npos) return true;
    }
    return false;
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void append_option(const char* variable, const std::string& option) {
    std::string value = std::getenv(variable) ? std::getenv(variable) : "";
    if (!value.empty()) value += ':';
    value += option;
    ::setenv(variable, value.c_str(), 1);
}

class SanitizerReports : public ::testing::EmptyTestEventListener {
public:
    explicit SanitizerReports(fs::path dir) : dir_(std::move(dir)) {}

    // Fails the current test for every report that appeared since the last look. GoogleTest
    // allows failures in OnTestEnd and counts them against the test that just ended.
    void OnTestEnd(const ::testing::TestInfo&) override {
        for (const auto& [path, text] : new_reports())
            ADD_FAILURE() << "a program this test started wrote a sanitizer report (" << path.string()
                          << "):\n" << text;
    }

    // Reports from programs that outlived every test (a suite-wide fixture's): no test to
    // fail, so they go to stderr; scripts/test fails the tier for the file.
    void OnTestProgramEnd(const ::testing::UnitTest&) override {
        for (const auto& [path, text] : new_reports())
            std::cerr << "sanitizer report after the last test (" << path.string() << "):\n" << text;
    }

private:
    std::vector<std::pair<fs::path, std::string>> new_reports() {
        std::vector<std::pair<fs::path, std::string>> found;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir_, ec)) {
            if (seen_.contains(entry.path())) continue;
            auto text = read_all(entry.path());
            if (!is_report(text)) continue;  // a notice; looked at again next time
            seen_.insert(entry.path());
            found.emplace_back(entry.path(), std::move(text));
        }
        return found;
    }

    fs::path dir_;
    std::set<fs::path> seen_;
};

// Runs before main() (gtest_main's RUN_ALL_TESTS), so every child inherits the options.
[[maybe_unused]] const bool installed = [] {
    const char* root = std::getenv("LVSD_SANITIZER_REPORTS");
    if (!root || !*root) return false;
    std::string self = "test";
    std::error_code ec;
    if (auto exe = fs::read_symlink("/proc/self/exe", ec); !ec) self = exe.filename().string();
    const fs::path dir = fs::path(root) / (self + "." + std::to_string(::getpid()));
    fs::create_directories(dir, ec);
    if (ec) {
        std::cerr << "LVSD_SANITIZER_REPORTS: cannot create " << dir.string() << ": " << ec.message() << '\n';
        std::exit(1);
    }
    // This process read its own options at start; only its children see the log_path.
    // UBSan (libubsan, beside libasan in GCC's runtime) reads its own variable.
    const std::string log_path = "log_path=" + (dir / "report").string();
    append_option("ASAN_OPTIONS", log_path);
    append_option("UBSAN_OPTIONS", log_path);
    ::testing::UnitTest::GetInstance()->listeners().Append(new SanitizerReports(dir));
    return true;
}();

}  // namespace
