#include "daemon/ownership_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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
    const std::string tmp = path + ".new";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "# IPVS services lvsd created or adopted; read back at start. Written by lvsd.\n";
        for (const auto& key : owned) out << fmt::format("{}\n", key);
        out.flush();
        if (!out) return make_error(errno, "write {}: {}", tmp, std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        std::remove(tmp.c_str());
        return make_error(e, "rename {} to {}: {}", tmp, path, std::strerror(e));
    }
    return {};
}

}  // namespace lvsd::daemon
