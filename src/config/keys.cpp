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
        {"configuration",
         {"global_defs", "vrrp_scripts", "vrrp_track_files", "vrrp_track_processes", "vrrp_instances",
          "vrrp_sync_groups", "virtual_server_groups", "virtual_servers"}},
        {"vrrp_track_processes", {"name", "process", "param_match", "weight", "quorum", "quorum_max", "delay"}},
        {"track_process", {"name", "weight"}},
        {"vrrp_track_files", {"name", "file", "weight", "init_file", "init_overwrite"}},
        {"track_file", {"name", "weight"}},
        {"vrrp_scripts", {"name", "script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"}},
        {"global_defs",
         {"router_id", "log_level", "control_socket", "reconcile_interval", "metrics_listen", "lvs_sync_daemon",
          "vrrp_version", "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
          "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "script_user", "enable_script_security",
          "vrrp_rt_priority", "vrrp_rlimit_rttime", "vrrp_no_swap", "announce_table", "announce_protocol",
          "announce_interface", "bird_socket"}},
        {"lvs_sync_daemon", {"interface", "instance", "syncid"}},
        {"vrrp_instances",
         {"name", "state", "interface", "virtual_router_id", "priority", "failover_priority", "advert_int", "version", "nopreempt",
          "preempt_delay", "unicast_src_ip", "unicast_peer", "virtual_ipaddress", "track_interface", "track_script", "track_file",
          "track_process",
          "track_arp_target",
          "garp_master_delay", "garp_master_repeat", "garp_interval", "garp_master_refresh", "garp_master_refresh_repeat",
          "use_vmac", "vmac_xmit_base", "dont_track_primary", "authentication", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}},
        {"virtual_ipaddress", {"address", "dev", "label"}},
        {"track_interface", {"interface", "weight"}},
        {"track_script", {"name", "weight"}},
        {"track_arp_target", {"targets", "interval", "fall", "weight"}},
        {"authentication", {"auth_type", "auth_pass"}},
        {"vrrp_sync_groups",
         {"name", "group", "track_script", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}},
        {"virtual_server_groups", {"name", "entries"}},
        {"virtual_servers",
         {"address", "port", "protocol", "fwmark", "group", "ip_family", "lb_algo", "lb_kind", "persistence_timeout",
          "persistence_granularity", "ops", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "delay_loop",
          "inhibit_on_failure", "alpha", "quorum", "hysteresis", "quorum_up", "quorum_down", "sorry_server",
          "real_servers", "announce"}},
        {"sorry_server", {"address", "port"}},
        {"real_servers",
         {"address", "port", "weight", "lb_kind", "uthreshold", "lthreshold", "inhibit_on_failure", "notify_up",
          "notify_down", "TCP_CHECK", "HTTP_GET", "SSL_GET", "PROXY_CHECK", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK",
          "SMTP_CHECK"}},
        {"TCP_CHECK", check_keys({"half_open"})},
        {"HTTP_GET", check_keys({"path", "virtualhost", "status_code", "body_contains", "digest", "url"})},
        {"SSL_GET",
         check_keys({"path", "virtualhost", "status_code", "body_contains", "digest", "url", "ssl_verify", "ssl_ca"})},
        {"url", {"path", "status_code", "digest"}},
        {"UDP_CHECK", check_keys({"payload", "require_reply"})},
        {"DNS_CHECK", check_keys({"type", "name"})},
        {"SMTP_CHECK", check_keys({"helo_name"})},
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
