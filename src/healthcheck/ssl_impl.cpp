// Asio's TLS implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION is set for
// the whole project; common/asio_impl.cpp has the rest). Here rather than in lvsd_common
// so that only the health checker links OpenSSL's libssl.
#include <boost/asio/ssl/impl/src.hpp>
