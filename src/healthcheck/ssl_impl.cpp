// Asio's TLS implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION is set for
// the whole project; common/asio_impl.cpp has the rest). Here rather than in lvsd_common
// so that only the health checker links OpenSSL's libssl. Beside it, the TLS client state
// SSL_GET keeps between probes (detail/tls_client.hpp).
#include <boost/asio/ssl/impl/src.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "healthcheck/detail/tls_client.hpp"

namespace lvsd::healthcheck::detail {

namespace asio = boost::asio;

Result<std::shared_ptr<asio::ssl::context>> tls_context(const CheckSpec& spec) {
    struct Cached {
        std::shared_ptr<asio::ssl::context> ctx;
        struct timespec mtime {};
    };
    static std::map<std::string, Cached> cache;  // "" for no verification
    const std::string key = spec.ssl_verify ? "verify:" + spec.ssl_ca : "";
    struct stat st {};
    if (!spec.ssl_ca.empty() && ::stat(spec.ssl_ca.c_str(), &st) != 0)
        return make_error(errno, "ssl_ca '{}': {}", spec.ssl_ca, std::strerror(errno));
    auto& c = cache[key];
    if (c.ctx && c.mtime.tv_sec == st.st_mtim.tv_sec && c.mtime.tv_nsec == st.st_mtim.tv_nsec) return c.ctx;
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    if (spec.ssl_verify) {
        ctx->set_verify_mode(asio::ssl::verify_peer, ec);
        if (!ec) {
            if (spec.ssl_ca.empty()) ctx->set_default_verify_paths(ec);
            else ctx->load_verify_file(spec.ssl_ca, ec);
        }
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none, ec);
    }
    if (ec) return make_error(ec.value(), "TLS setup{}: {}", spec.ssl_ca.empty() ? "" : " with " + spec.ssl_ca, ec.message());
    c.ctx = ctx;
    c.mtime = st.st_mtim;
    return ctx;
}

TlsSessions<SessionPtr>& tls_sessions() {
    static TlsSessions<SessionPtr> sessions;
    return sessions;
}

std::string session_target(const CheckSpec& spec) {
    return fmt::format("{}|{}|{}", format_endpoint(spec.address, spec.effective_port()), spec.virtualhost,
                       spec.bindto ? spec.bindto->to_string() : "");
}

}  // namespace lvsd::healthcheck::detail
