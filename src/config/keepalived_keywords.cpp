// Every keyword keepalived registers (its parser's install_keyword calls, 2.2-2.4), so that
// the importer can tell a keyword keepalived knows but lvsd does not translate from one
// keepalived itself does not know (a typo it would ignore). Generated from
// tests/data/keepalived_corpus/upstream-keywords.txt.
#include "config/detail/keepalived_translate.hpp"

#include <algorithm>
#include <array>

namespace lvsd::config::keepalived::detail {

namespace {
constexpr std::array<std::string_view, 363> kKeywords{
    "BFD_CHECK", "DNS_CHECK", "FILE_CHECK", "HTTP_GET", "MISC_CHECK", "PING_CHECK", "SMTP_CHECK",
    "SSL", "SSL_GET", "TCP_CHECK", "UDP_CHECK", "accept", "active_key", "advert_int", "alpha",
    "anti_replay", "auth_hmac", "auth_pass", "auth_type", "authentication", "bfd_cpu_affinity",
    "bfd_instance", "bfd_no_swap", "bfd_priority", "bfd_process_name", "bfd_rlimit_rtime",
    "bfd_rlimit_rttime", "bfd_rt_priority", "bind_if", "bind_port", "bindto", "ca", "certificate",
    "check_unicast_src", "checker", "checker_cpu_affinity", "checker_log_all_failures",
    "checker_no_swap", "checker_priority", "checker_process_name", "checker_rlimit_rtime",
    "checker_rlimit_rttime", "checker_rt_priority", "child_wait_time", "config_save_dir",
    "connect_ip", "connect_port", "connect_timeout", "data_use_instance", "dbus_no_interface_name",
    "dbus_service_name", "debug", "default_interface", "delay", "delay_before_retry", "delay_loop",
    "digest", "disable_local_igmp", "dont_track_primary", "down_timer_adverts",
    "dynamic_interfaces", "enable_dbus", "enable_script_security", "enable_sni",
    "enable_snmp_checker", "enable_snmp_keepalived", "enable_snmp_rfc", "enable_snmp_rfcv2",
    "enable_snmp_rfcv3", "enable_snmp_vrrp", "enable_traps", "fall", "fast_recovery",
    "fifo_write_vrrp_states_on_reload", "file", "flag-1", "flag-2", "flag-3", "fork_delay",
    "full_command", "fwmark", "garp_extra_if", "garp_group", "garp_interval",
    "garp_lower_prio_delay", "garp_lower_prio_repeat", "garp_master_delay", "garp_master_refresh",
    "garp_master_refresh_repeat", "garp_master_repeat", "global_defs", "global_tracking",
    "gna_interval", "group", "ha_suspend", "hashed", "helo_name", "higher_prio_send_advert",
    "hoplimit", "host", "http_protocol", "hysteresis", "idle_tx", "include_check",
    "inhibit_on_failure", "init_fail", "init_file", "instance", "interface",
    "interface_up_down_delays", "interfaces", "interval", "ip_family", "iproute_etc_dir",
    "iproute_usr_dir", "json_dump_file", "json_version", "kernel_rx_buf_size", "key", "lb_algo",
    "lb_kind", "linkbeat_interfaces", "linkbeat_use_polling", "log_all_failures",
    "log_unknown_vrids", "lower_prio_no_advert", "lthreshold", "lvs_flush", "lvs_flush_on_stop",
    "lvs_flush_onstop", "lvs_method", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "lvs_notify_fifo",
    "lvs_notify_fifo_script", "lvs_process_name", "lvs_sched", "lvs_sync_daemon",
    "lvs_sync_daemon_interface", "lvs_timeouts", "max_auto_priority", "max_hops",
    "max_reply_length", "mcast_dst_ip", "mcast_src_ip", "mh-fallback", "mh-port",
    "min_auto_priority_delay", "min_reply_length", "min_rx", "min_tx", "misc_dynamic", "misc_path",
    "misc_timeout", "mode", "multihop", "multiplier", "name", "namespace_with_ipsets",
    "native_ipv6", "nb_get_retry", "neighbor_ip", "neighbour_ip", "net_namespace",
    "net_namespace_ipvs", "nftables", "nftables_counters", "nftables_ifindex", "nftables_ipvs",
    "nftables_ipvs_priority", "nftables_ipvs_start_fwmark", "nftables_priority", "no_accept",
    "no_checker_emails", "no_email_faults", "no_virtual_ipaddress", "nopreempt",
    "notification_email", "notification_email_from", "notify", "notify_backup", "notify_deleted",
    "notify_down", "notify_fault", "notify_fifo", "notify_fifo_script", "notify_master",
    "notify_master_rx_lower_pri", "notify_priority_changes", "notify_stop", "notify_up",
    "old_unicast_checksum", "omega", "ops", "owner_ignore_adverts", "param_match", "passive",
    "password", "path", "payload", "persistence_engine", "persistence_granularity",
    "persistence_timeout", "preempt", "preempt_delay", "priority", "process",
    "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force", "process_name", "process_names",
    "promote_secondaries", "protocol", "quorum", "quorum_down", "quorum_max", "quorum_up",
    "random_seed", "real_server", "regex", "regex_max_offset", "regex_min_offset", "regex_no_match",
    "regex_options", "regex_stack", "reload_check_config", "reload_file", "reload_repeat",
    "reload_time_file", "require_reply", "retry", "rise", "router_id", "rs_init_notifies", "script",
    "script_user", "set_supplementary_groups", "sh-fallback", "sh-port", "shutdown_script",
    "shutdown_script_timeout", "skip_check_adv_addr", "smtp_alert", "smtp_alert_checker",
    "smtp_alert_vrrp", "smtp_connect_timeout", "smtp_helo_name", "smtp_server", "sni_name",
    "snmp_name", "snmp_rs_stats_update_interval", "snmp_socket", "snmp_vs_stats_update_interval",
    "sorry_server", "sorry_server_inhibit", "sorry_server_lvs_method", "source_ip",
    "startup_script", "startup_script_timeout", "state", "state_dump_file", "static_ipaddress",
    "static_routes", "static_rules", "stats_dump_file", "status_code", "strict_mode",
    "sync_group_tracking_weight", "terminate_delay", "thread_timer_expired", "time_window",
    "timeout", "timer_expired_backup", "tls_compliant", "tmp_config_directory", "track_bfd",
    "track_file", "track_group", "track_interface", "track_process", "track_script", "track_src_ip",
    "ttl", "type", "umask", "unicast_fault_no_peer", "unicast_peer", "unicast_src_ip",
    "unicast_ttl", "url", "use_ipvlan", "use_pid_dir", "use_symlink_paths", "use_vmac",
    "use_vmac_addr", "user", "uthreshold", "v3_checksum_as_v2", "version", "virtual_ipaddress",
    "virtual_ipaddress_excluded", "virtual_router_id", "virtual_routes", "virtual_rules",
    "virtual_server", "virtual_server_group", "virtualhost", "vmac_addr_prefix", "vmac_garp_intvl",
    "vmac_prefix", "vmac_xmit_base", "vrf", "vrrp", "vrrp_check_unicast_src", "vrrp_cpu_affinity",
    "vrrp_delay_after_boot", "vrrp_down_timer_adverts", "vrrp_garp_extra_if", "vrrp_garp_interval",
    "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_master_repeat",
    "vrrp_gna_interval", "vrrp_higher_prio_send_advert", "vrrp_instance", "vrrp_ipsets",
    "vrrp_iptables", "vrrp_lower_prio_no_advert", "vrrp_mcast_group4", "vrrp_mcast_group6",
    "vrrp_min_garp", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "vrrp_no_swap",
    "vrrp_notify_fifo", "vrrp_notify_fifo_script", "vrrp_notify_priority_changes",
    "vrrp_owner_ignore_adverts", "vrrp_priority", "vrrp_process_name", "vrrp_rlimit_rtime",
    "vrrp_rlimit_rttime", "vrrp_rt_priority", "vrrp_rx_bufs_multiplier", "vrrp_rx_bufs_policy",
    "vrrp_script", "vrrp_skip_check_adv_addr", "vrrp_startup_delay", "vrrp_strict",
    "vrrp_sync_group", "vrrp_track_file", "vrrp_track_process", "vrrp_version",
    "vrrp_vmac_garp_intvl", "warmup", "weight",
};
}  // namespace

bool keepalived_knows(std::string_view keyword) {
    return std::binary_search(kKeywords.begin(), kKeywords.end(), keyword);
}

std::span<const std::string_view> keepalived_keywords() { return kKeywords; }

}  // namespace lvsd::config::keepalived::detail
