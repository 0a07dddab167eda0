// lvsd-mangen README.md OUTDIR VERSION: writes lvsd.8, lvsctl.8 and lvsd.conf.5 into
// OUTDIR (the build runs it; the pages are not checked in, so they cannot go stale).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "man/pages.hpp"

int main(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: lvsd-mangen README.md OUTDIR VERSION\n");
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        fmt::print(stderr, "lvsd-mangen: {}: cannot read: {}\n", argv[1], std::strerror(errno));
        return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto pages = lvsd::man::render_pages(text.str(), argv[1], argv[3]);
    if (!pages) {
        fmt::print(stderr, "lvsd-mangen: {}\n", pages.error().message);
        return 1;
    }
    for (const auto& p : *pages) {
        const std::string path = fmt::format("{}/{}", argv[2], p.file);
        std::ofstream out(path);
        if (!(out << p.roff) || !out.flush()) {
            fmt::print(stderr, "lvsd-mangen: {}: cannot write: {}\n", path, std::strerror(errno));
            return 1;
        }
    }
    return 0;
}
