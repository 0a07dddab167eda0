// Helpers shared by the keepalived reader tests: a compact rendering of a statement
// tree, and a temporary directory that is removed afterwards.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <chrono>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/keepalived_reader.hpp"

namespace ka_test {

using lvsd::config::keepalived::Statement;

// CPU time of this process: "bounded time" is about the work done, which a loaded
// machine (the tests share it with builds) does not change.
inline std::chrono::nanoseconds cpu_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// `kw(a,b){child;child}` for a statement; statements separated by `;`.
inline std::string dump(const std::vector<Statement>& list) {
    std::string out;
    for (const auto& s : list) {
        if (!out.empty()) out += ';';
        out += s.keyword;
        if (!s.args.empty()) {
            out += '(';
            for (std::size_t i = 0; i < s.args.size(); ++i) out += (i ? "," : "") + s.args[i];
            out += ')';
        }
        if (s.has_block) out += '{' + dump(s.children) + '}';
    }
    return out;
}

inline std::string messages(const std::vector<lvsd::config::Diagnostic>& ds) {
    std::string out;
    for (const auto& d : ds) out += lvsd::config::to_string(d) + "\n";
    return out;
}

// A mkdtemp directory, removed with everything in it when the test ends (also when it
// fails).
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lvsd-ka-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // Writes `text` to path()/name (creating directories) and returns the full path.
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
        const auto full = std::filesystem::path(path_) / name;
        std::filesystem::create_directories(full.parent_path());
        std::ofstream(full, std::ios::binary) << text;
        ::chmod(full.c_str(), mode);
        return full.string();
    }

private:
    std::string path_;
};

}  // namespace ka_test
