#include "config/detail/keys.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace lvsd::config::detail {

namespace {

std::vector<std::string_view> check_keys(std::vector<std::string_view> extra) {
    std::vector<std::string_view> keys = {"connect_ip", "connect_port", "bindto",     "bind_port", "connect_timeout",
                                          "delay_loop", "delay_before_retry", "retry", "rise",      "fall"};
    keys.insert(keys.end(), extra.begin(), extra.end());
    return keys;
}

}  // namespace

const std::vector<SectionKeys>& sections() {
    static const std::vector<SectionKeys> all = {
        {"configuration", {"global_defs", "vrrp_instances", "vrrp_sync_groups", "virtual_servers"}},
        {"global_defs",
         {"router_id", "log_level", "control_socket", "reconcile_interval", "metrics_listen", "lvs_sync_daemon"}},
        {"lvs_sync_daemon", {"interface", "instance", "syncid"}},
        {"vrrp_instances",
         {"name", "state", "interface", "virtual_router_id", "priority", "advert_int", "version", "nopreempt",
          "preempt_delay", "unicast_src_ip", "unicast_peer", "virtual_ipaddress", "track_interface", "track_arp_target",
          "garp_master_delay", "garp_master_repeat", "garp_interval", "garp_master_refresh", "garp_master_refresh_repeat",
          "authentication", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}},
        {"virtual_ipaddress", {"address", "dev", "label"}},
        {"track_interface", {"interface", "weight"}},
        {"track_arp_target", {"targets", "interval", "fall"}},
        {"authentication", {"auth_type", "auth_pass"}},
        {"vrrp_sync_groups", {"name", "group", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}},
        {"virtual_servers",
         {"address", "port", "protocol", "fwmark", "ip_family", "lb_algo", "lb_kind", "persistence_timeout",
          "persistence_granularity", "ops", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "delay_loop",
          "inhibit_on_failure", "alpha", "sorry_server", "real_servers"}},
        {"sorry_server", {"address", "port"}},
        {"real_servers",
         {"address", "port", "weight", "lb_kind", "uthreshold", "lthreshold", "inhibit_on_failure", "TCP_CHECK",
          "HTTP_GET", "SSL_GET", "PROXY_CHECK", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK"}},
        {"TCP_CHECK", check_keys({"half_open"})},
        {"HTTP_GET", check_keys({"path", "virtualhost", "status_code", "body_contains", "digest", "url"})},
        {"SSL_GET",
         check_keys({"path", "virtualhost", "status_code", "body_contains", "digest", "url", "ssl_verify", "ssl_ca"})},
        {"url", {"path", "status_code", "digest"}},
        {"UDP_CHECK", check_keys({"payload", "require_reply"})},
        {"DNS_CHECK", check_keys({"type", "name"})},
        {"PROXY_CHECK", check_keys({"url", "status_code"})},
        // A command has no target: no connect_*, bind*; misc_timeout is its timeout.
        {"MISC_CHECK",
         {"misc_path", "misc_timeout", "misc_dynamic", "user", "delay_loop", "delay_before_retry", "retry", "rise",
          "fall"}},
    };
    return all;
}

const std::vector<std::string_view>& keys_of(std::string_view section) {
    const auto& all = sections();
    auto it = std::find_if(all.begin(), all.end(), [&](const SectionKeys& s) { return s.section == section; });
    if (it == all.end()) throw std::logic_error("config: no key table for section " + std::string(section));
    return it->keys;
}

}  // namespace lvsd::config::detail
