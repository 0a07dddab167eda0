// lvsd-vrrp-instance: runs one VRRP instance from command-line flags. A test driver for
// the netns tier and the failover benchmark (each instance a separate process that a
// test can kill -9); lvsd itself wires vrrp::Instance from its config file.
//
//   lvsd-vrrp-instance --name N --interface IF --vrid 51 --priority 100 [--version 3]
//       [--advert-int-ms 1000] [--vip 192.0.2.100/24[,label]]... [--nopreempt]
//       [--preempt-delay-ms N] [--unicast-src-ip A --unicast-peer B...] [--auth-pass P [--auth-ah]]
//       [--track-interface IF]... [--track-arp-target A]... [--track-arp-interval-ms N]
//       [--track-arp-fall N] [--garp-repeat N] [--garp-interval-ms N]
//       [--garp-delay-ms N] [--garp-refresh-ms N] [--notify /path/script]
//       [--notify-timeout-ms N] [--next ...more instance flags...] [--sync-group NAME]
//
// `--reload-args FILE`: on SIGHUP the flags are read again from FILE and applied with
// Instance::reconfigure. `--next` starts the flags of another instance in the same process; `--sync-group`
// puts all of the process's instances into one vrrp_sync_group.
//
// stdout, one line each, flushed: `STATE <name> <MASTER|BACKUP|FAULT|INIT>` on every
// transition; on SIGUSR1 and at exit `COUNTERS <name> received=.. sent=.. <reason>=..`.
// SIGTERM/SIGINT: graceful stop (priority 0 if master, VIPs removed), exit 0.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "host/monitor.hpp"
#include "vrrp/instance.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;

namespace {

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "lvsd-vrrp-instance: " << why << " (see the comment at the top of vrrp_instance_main.cpp)\n";
    std::exit(2);
}

long number(const std::string& flag, const std::string& v) {
    try {
        std::size_t used = 0;
        long n = std::stol(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return n;
    } catch (const std::exception&) {
        usage(flag + ": '" + v + "' is not a number");
    }
}

IpAddress address(const std::string& flag, const std::string& v) {
    auto a = parse_address(v);
    if (!a) usage(flag + ": '" + v + "' is not an IP address");
    return *a;
}

void print_counters(const Instance& i) {
    const auto& c = i.counters();
    std::string line = fmt::format("COUNTERS {} received={} sent={} garps={} transitions={} send_errors={}",
                                   i.config().name, c.adverts_received, c.adverts_sent, c.garps_sent, c.transitions,
                                   c.send_errors);
    for (std::size_t r = 0; r < c.dropped.size(); ++r)
        line += fmt::format(" {}={}", static_cast<DropReason>(r), c.dropped[r]);
    std::cout << line << std::endl;
}

struct Flags {
    std::vector<InstanceConfig> configs;
    std::string group;
    std::string reload_args;
};

Flags parse_flags(const std::vector<std::string>& args) {
    Flags out;
    auto& configs = out.configs;
    auto& group = out.group;
    configs.emplace_back();
    configs.back().name = "vrrp";
    const std::size_t argc = args.size();
    for (std::size_t i = 0; i < argc; ++i) {
        const std::string& f = args[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage(f + " needs a value");
            return args[++i];
        };
        InstanceConfig& c = configs.back();
        if (f == "--reload-args") out.reload_args = val();
        else if (f == "--next") {
            configs.emplace_back();
            configs.back().name = fmt::format("vrrp{}", configs.size());
        } else if (f == "--sync-group") group = val();
        else if (f == "--name") c.name = val();
        else if (f == "--interface") c.interface = val();
        else if (f == "--vrid") c.virtual_router_id = static_cast<uint8_t>(number(f, val()));
        else if (f == "--priority") c.priority = static_cast<uint8_t>(number(f, val()));
        else if (f == "--version") c.version = static_cast<uint8_t>(number(f, val()));
        else if (f == "--advert-int-ms") c.advert_int = std::chrono::milliseconds(number(f, val()));
        else if (f == "--nopreempt") c.nopreempt = true;
        else if (f == "--preempt-delay-ms") c.preempt_delay = std::chrono::milliseconds(number(f, val()));
        else if (f == "--unicast-src-ip") c.unicast_src_ip = address(f, val());
        else if (f == "--unicast-peer") c.unicast_peer.push_back(address(f, val()));
        else if (f == "--auth-pass") c.auth_pass = val();
        else if (f == "--auth-ah") c.auth_ah = true;  // with --auth-pass: auth_type AH
        else if (f == "--track-interface") c.track_interface.push_back({val(), 0});
        else if (f == "--track-arp-target") c.track_arp_target.push_back(address(f, val()));
        else if (f == "--track-arp-interval-ms") c.track_arp_interval = std::chrono::milliseconds(number(f, val()));
        else if (f == "--track-arp-fall") c.track_arp_fall = static_cast<unsigned>(number(f, val()));
        else if (f == "--garp-repeat") c.garp_master_repeat = static_cast<unsigned>(number(f, val()));
        else if (f == "--garp-interval-ms") c.garp_interval = std::chrono::milliseconds(number(f, val()));
        else if (f == "--garp-delay-ms") c.garp_master_delay = std::chrono::milliseconds(number(f, val()));
        else if (f == "--garp-refresh-ms") c.garp_master_refresh = std::chrono::milliseconds(number(f, val()));
        else if (f == "--notify") c.notify = {val()};
        else if (f == "--notify-timeout-ms") c.notify_timeout = std::chrono::milliseconds(number(f, val()));
        else if (f == "--debug") spdlog::set_level(spdlog::level::debug);
        else if (f == "--vip") {
            auto v = val();
            VirtualAddress va;
            auto comma = v.find(',');
            if (comma != std::string::npos) va.label = v.substr(comma + 1);
            auto p = parse_prefix(v.substr(0, comma));
            if (!p) usage("--vip: '" + v + "' is not an address/prefix");
            va.prefix = *p;
            c.virtual_ipaddress.push_back(va);
        } else {
            usage("unknown flag " + f);
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Flags flags = parse_flags(std::vector<std::string>(argv + 1, argv + argc));
    auto& configs = flags.configs;
    const std::string& group = flags.group;
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
    boost::asio::io_context io;
    lvsd::host::Monitor host(io);
    if (auto r = host.start(); !r) {
        spdlog::error("{}", r.error().message);
        return 1;
    }
    std::vector<std::unique_ptr<Instance>> instances;
    std::vector<Instance*> members;
    for (auto& c : configs) {
        instances.push_back(std::make_unique<Instance>(io, host, c));
        members.push_back(instances.back().get());
        instances.back()->on_transition(
            [name = c.name](State s) { std::cout << "STATE " << name << ' ' << to_string(s) << std::endl; });
    }
    std::optional<SyncGroup> sync;
    if (!group.empty()) sync.emplace(group, members);
    for (auto& inst : instances) {
        if (auto r = inst->start(); !r) {
            spdlog::error("{}", r.error().message);
            return 1;
        }
    }
    boost::asio::signal_set stop(io, SIGTERM, SIGINT);
    boost::asio::signal_set usr(io, SIGUSR1);
    boost::asio::signal_set hup(io, SIGHUP);
    stop.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        for (auto& inst : instances) {
            inst->stop();
            print_counters(*inst);
        }
        // No io.stop(): the loop ends by itself once notify_stop has finished or been
        // killed at its timeout.
        usr.cancel();
        hup.cancel();
        host.stop();
    });
    // SIGHUP: re-read the flags from --reload-args FILE (whitespace-separated) and
    // reconfigure each instance in place; prints `RELOAD ok` or `RELOAD error: ...`.
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            std::ifstream in(flags.reload_args);
            std::vector<std::string> words;
            for (std::string w; in >> w;) words.push_back(w);
            auto next = parse_flags(words);
            std::string problem;
            if (flags.reload_args.empty() || !in.eof()) problem = "cannot read --reload-args '" + flags.reload_args + "'";
            else if (next.configs.size() != instances.size()) problem = "the number of instances changed";
            for (std::size_t i = 0; problem.empty() && i < instances.size(); ++i)
                if (auto r = instances[i]->reconfigure(next.configs[i]); !r) problem = r.error().message;
            std::cout << (problem.empty() ? std::string("RELOAD ok") : "RELOAD error: " + problem) << std::endl;
            wait_hup();
        });
    };
    wait_hup();
    std::function<void()> wait_usr = [&] {
        usr.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            for (auto& inst : instances) print_counters(*inst);
            wait_usr();
        });
    };
    wait_usr();
    io.run();
    return 0;
}
