// SSL_GET's TLS client state, kept between probes (defined in ssl_impl.cpp): the OpenSSL
// contexts and the sessions it resumes. Single-threaded, as the io_context that runs the
// probes (DESIGN.md: one thread).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "common/result.hpp"
#include "healthcheck/check.hpp"
#include "healthcheck/detail/tls_sessions.hpp"

namespace lvsd::healthcheck::detail {

// The client context for spec's verification setting: one without verification, one per
// ssl_ca (the system's store for none); the trust store is read once, and a CA file again
// when its mtime changes. Errors: ssl_ca that cannot be stat'ed or loaded, with the path.
Result<std::shared_ptr<boost::asio::ssl::context>> tls_context(const CheckSpec& spec);

struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// The sessions SSL_GET resumes, by session_target (tls_sessions.hpp has the rules).
TlsSessions<SessionPtr>& tls_sessions();

// "ADDRESS:PORT|SNI|SOURCE": a session is bound to the server and to the name it was made
// for; the source address (bindto) keeps apart checks that reach the server differently.
std::string session_target(const CheckSpec& spec);

}  // namespace lvsd::healthcheck::detail
