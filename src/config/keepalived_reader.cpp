// Placeholder until the reader lands: refuses everything with a clear message.
#include "config/keepalived_reader.hpp"

namespace lvsd::config::keepalived {

ReadResult read_file(const std::string& path, const ReadOptions&) {
    ReadResult r;
    r.errors.push_back({path, 0, "the keepalived reader is not built yet"});
    return r;
}

ReadResult read_string(std::string_view, const std::string& name, const ReadOptions&, const std::string&) {
    ReadResult r;
    r.errors.push_back({name, 0, "the keepalived reader is not built yet"});
    return r;
}

}  // namespace lvsd::config::keepalived
