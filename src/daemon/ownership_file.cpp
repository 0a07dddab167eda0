#include "daemon/ownership_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "common/state_file.hpp"

namespace lvsd::daemon {

std::string ownership_file_for(const std::string& control_socket) {
    return std::filesystem::path(control_socket).replace_extension(".owned").string();
}

OwnershipRead read_ownership(const std::string& path) {
    OwnershipRead out;
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty() || line.front() == '#') continue;
        if (auto key = ipvs::parse_service_key(line))
            out.owned.insert(*key);
        else
            out.problems.push_back(fmt::format("{}:{}: not an IPVS service: \"{}\"", path, n, line));
    }
    return out;
}

Result<void> write_ownership(const std::string& path, const std::set<ipvs::ServiceKey>& owned) {
    std::string text = "# IPVS services lvsd created or adopted; read back at start. Written by lvsd.\n";
    for (const auto& key : owned) text += fmt::format("{}\n", key);
    return replace_file(path, text);
}

}  // namespace lvsd::daemon
