// The events the ECMP scenario drives (scenario_impl.hpp), each a step with its checks.
#include <signal.h>

#include <regex>

#include "ecmp/scenario_impl.hpp"

namespace lvsd::ecmp::detail {

void Scenario::drain(int i) {
    auto r = lvsctl(i, {"drain", "--balancer"});
    check(r.ok(), fmt::format("lvsctl drain --balancer on {} succeeds", lb(i)), r.output);
}

void Scenario::undrain(int i) {
    auto r = lvsctl(i, {"undrain", "--balancer"});
    check(r.ok(), fmt::format("lvsctl undrain --balancer on {} succeeds", lb(i)), r.output);
}

void Scenario::drain_and_return() {
    step(fmt::format("{} drained (lvsctl drain --balancer --wait)", lb(0)));
    // lvsd reads BIRD's control socket: status shows what BIRD really exports.
    const std::string exported = fmt::format("\"{}/32\"", kVip);
    std::string status;
    const bool shown = wait([&] {
        auto st = lvsctl(0, {"status", "--json"});
        status = st.output;
        return st.ok() && status.find("\"bird\":{") != std::string::npos && status.find(exported) != std::string::npos;
    }, 10s);
    check(shown, "lvsctl status --json on lb1 shows BIRD up and exporting the VIP", status.substr(0, 1500));
    auto from = routes_->size();
    auto t = Clock::now();
    const auto before = scheduled();
    // --wait returns once lvsd's table has no route left and BIRD exports none (read
    // back from BIRD's control socket), i.e. once BIRD has sent its withdrawals.
    auto r = lvsctl(0, {"drain", "--balancer", "--wait"});
    const auto waited = Seconds(Clock::now() - t).count();
    check(r.ok() && r.output.ends_with("drained\n"), "lvsctl drain --balancer --wait on lb1 returns once BIRD exports nothing",
          r.output);
    measured("lvsctl drain --balancer --wait returned after", fmt::format("{:.2f} s", waited));
    auto gone = route_change(from, 0, false, 10s);
    check(gone.has_value(), "the router drops lb1's next hop",
          gone ? fmt::format("after {:.2f} s: {}", Seconds(gone->seen - t).count(), hops_str(gone->next_hops))
               : hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("drain");
    mid_flow(before, "lb2 and lb3 schedule lb1's flows mid-connection (sloppy_tcp)");
    report_.measured.emplace_back("flows reset during a drain",
                                  fmt::format("{} of {}", flows_->current().resets, opt_.flows));

    step(fmt::format("{} back (undrain)", lb(0)));
    from = routes_->size();
    t = Clock::now();
    undrain(0);
    auto back = route_change(from, 0, true, 20s);
    check(back && back->next_hops.size() == kBalancers, "the router has lb1's next hop again, 3 in all",
          back ? fmt::format("after {:.2f} s: {}", Seconds(back->seen - t).count(), hops_str(back->next_hops))
               : hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("balancer added");
    measured("flows reset when a balancer is added", fmt::format("{} of {}", flows_->current().resets, opt_.flows));
}

void Scenario::negative_control(int d) {
    std::string others;
    for (int i = 0; i < kBalancers; ++i)
        if (i != d) others += (others.empty() ? "" : ", ") + lb(i);
    step(fmt::format("negative control: sloppy_tcp=0 on {}; {} drained", others, lb(d)));
    const auto before = scheduled();
    for (int i = 0; i < kBalancers; ++i)
        if (i != d) sysctl(lb(i), "net.ipv4.vs.sloppy_tcp", "0");
    auto from = routes_->size();
    drain(d);
    auto gone = route_change(from, d, false, 10s);
    pause(kSettle);
    const auto s = flows_->current();
    for (int i = 0; i < kBalancers; ++i)
        if (i != d && !read_in(lb(i), "/proc/sys/net/ipv4/vs/sloppy_tcp").starts_with("0"))
            throw Aborted(fmt::format("negative control: sloppy_tcp on {} was set back during the step", lb(i)));
    check(gone && s.resets > 0, fmt::format("flows moved to {} are reset (the scenario can see a reset)", others),
          fmt::format("{} of {} reset", s.resets, opt_.flows));
    measured("negative control (sloppy_tcp=0): flows reset during a drain", fmt::format("{} of {}", s.resets, opt_.flows));
    const auto after = scheduled();
    std::string per_lb;
    for (int i = 0; i < kBalancers; ++i) per_lb += fmt::format(" {} {}", lb(i), after[i] - before[i]);
    say("   connections IPVS scheduled meanwhile (new flows after the resets):" + per_lb);
    for (int i = 0; i < kBalancers; ++i)
        if (i != d) sysctl(lb(i), "net.ipv4.vs.sloppy_tcp", "1");
    from = routes_->size();
    undrain(d);
    if (!route_change(from, d, true, 20s)) throw Aborted(lb(d) + " did not come back after the negative control");
    // The reset flows were opened again; the pool must be whole before the next step.
    if (!wait([&] { return flows_->answering() == opt_.flows; }, 20s))
        throw Aborted(fmt::format("the flows did not recover: {} of {}", flows_->answering(), opt_.flows));
    pause(1s);
}

void Scenario::all_real_servers_fail(int i, int run) {
    step(fmt::format("{}'s real servers fail (run {} of {})", lb(i), run + 1, opt_.withdraw_runs));
    write_file(dir_ + "/block.nft",
               fmt::format("table ip ecmp_block {{\n  chain out {{\n    type filter hook output priority 0;\n"
                           "    ip saddr {} tcp dport {} reject with tcp reset\n  }}\n}}\n",
                           lb_addr(i), kPort));
    const auto log_from = lvsd_[i]->output().size();
    auto from = routes_->size();
    auto t = Clock::now();
    auto r = lab_->exec(lb(i), {"nft", "-f", dir_ + "/block.nft"});
    if (!r.ok()) throw Aborted("nft: " + r.output);
    auto gone = route_change(from, i, false, 20s);
    const std::string log = lvsd_[i]->output();
    const auto at = log.find("quorum lost", log_from);
    std::optional<double> verdict;
    if (at != std::string::npos) verdict = time_of_day(log.substr(log.rfind('\n', at) + 1));
    const double took = gone && verdict ? tod_delta(gone->tod, *verdict) : -1;
    if (gone && verdict) report_.withdraw_s.push_back(took);
    check(gone && verdict && took <= 1.0, "the router drops the next hop within 1 s of lvsd's verdict",
          gone && verdict ? fmt::format("{:.3f} s after 'quorum lost' ({:.2f} s after the block)", took,
                                        Seconds(gone->seen - t).count())
                          : fmt::format("route {}; verdict {}{}", gone ? "dropped" : "not dropped",
                                        verdict ? "logged" : "not logged", logs()));
    pause(kSettle);
    settled("real servers failed");
    withdraw_resets_ += flows_->current().resets;
    step(fmt::format("{}'s real servers return (run {})", lb(i), run + 1));
    from = routes_->size();
    r = lab_->exec(lb(i), {"nft", "delete", "table", "ip", "ecmp_block"});
    if (!r.ok()) throw Aborted("nft: " + r.output);
    auto back = route_change(from, i, true, 20s);
    check(back.has_value(), "the balancer announces the VIP again", hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("real servers returned");
    withdraw_resets_ += flows_->current().resets;
}

void Scenario::bird_crash(int i) {
    const double detect = Seconds(opt_.bfd_interval).count() * opt_.bfd_multiplier;
    step(fmt::format("kill -9 of {}'s BIRD", lb(i)));
    auto from = routes_->size();
    const auto before = scheduled();
    const double t = time_of_day_now();
    bird_up_[i] = false;
    ::kill(bird_[i]->pid(), SIGKILL);
    auto gone = route_change(from, i, false, 10s);
    const double took = gone ? tod_delta(gone->tod, t) : -1;
    auto why = lab_->exec("router", {"birdc", "-s", dir_ + "/router.bird.ctl", "show", "protocols", router_session(i)});
    std::smatch m;
    const std::string info = std::regex_search(why.output, m, std::regex("\\n" + router_session(i) + "\\s+BGP.*?  (\\S.*)"))
                                 ? m[1].str() : why.output;
    check(gone && took <= detect + 0.5,
          fmt::format("the router drops the next hop within the BFD detection time {:.1f} s (+0.5 s)", detect),
          gone ? fmt::format("{:.3f} s ({:.2f} x detection time); router's session: {}", took, took / detect, info)
               : hops_str(routes_->next_hops()));
    if (gone)
        measured(fmt::format("kill -9 of a balancer's BIRD -> next hop gone (BFD {} ms x {})",
                             opt_.bfd_interval.count(), opt_.bfd_multiplier),
                 fmt::format("{:.3f} s; the router's session said: {}", took, info));
    pause(kSettle);
    settled("BIRD crashed");
    mid_flow(before, fmt::format("the other balancers schedule {}'s flows mid-connection", lb(i)));
    measured("flows reset when a balancer's BIRD crashes", fmt::format("{} of {}", flows_->current().resets, opt_.flows));
    bird_[i]->stop(0ms);

    step(fmt::format("{}'s BIRD started again", lb(i)));
    from = routes_->size();
    auto t2 = Clock::now();
    start_bird(i);
    auto back = route_change(from, i, true, 30s);
    check(back && back->next_hops.size() == kBalancers, "the router has the next hop back, 3 in all",
          back ? fmt::format("after {:.2f} s", Seconds(back->seen - t2).count()) : hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("BIRD restarted");
}

void Scenario::link_cut(int i) {
    const double detect = Seconds(opt_.bfd_interval).count() * opt_.bfd_multiplier;
    step(fmt::format("{}'s link cut", lb(i)));
    auto from = routes_->size();
    const auto before = scheduled();
    const double t = time_of_day_now();
    set_link("sw", lb(i) + "-p", false);
    auto gone = route_change(from, i, false, 10s);
    const double took = gone ? tod_delta(gone->tod, t) : -1;
    auto why = lab_->exec("router", {"birdc", "-s", dir_ + "/router.bird.ctl", "show", "protocols", router_session(i)});
    std::smatch m;
    const std::string info = std::regex_search(why.output, m, std::regex("\\n" + router_session(i) + "\\s+BGP.*?  (\\S.*)"))
                                 ? m[1].str() : why.output;
    check(gone && took <= detect + 0.5 && info.find("BFD") != std::string::npos,
          fmt::format("BFD takes the next hop away within its detection time {:.1f} s (+0.5 s)", detect),
          gone ? fmt::format("{:.3f} s ({:.2f} x detection time); router's session: {}", took, took / detect, info)
               : hops_str(routes_->next_hops()));
    if (gone)
        measured(fmt::format("link cut -> next hop gone (BFD {} ms x {} = {:.1f} s)", opt_.bfd_interval.count(),
                             opt_.bfd_multiplier, detect),
                 fmt::format("{:.3f} s = {:.2f} x detection time; the router's session said: {}", took, took / detect, info));
    pause(kSettle);
    settled("link cut");
    measured("flows reset when a balancer's link is cut", fmt::format("{} of {}", flows_->current().resets, opt_.flows));

    step(fmt::format("{}'s link back", lb(i)));
    from = routes_->size();
    auto t2 = Clock::now();
    set_link("sw", lb(i) + "-p", true);
    auto back = route_change(from, i, true, 30s);
    check(back && back->next_hops.size() == kBalancers, "the router has the next hop back, 3 in all",
          back ? fmt::format("after {:.2f} s", Seconds(back->seen - t2).count()) : hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("link back");
}

void Scenario::lvsd_restart(int i) {
    step(fmt::format("{}'s lvsd killed (-9) and started again", lb(i)));
    const auto from = routes_->size();
    lvsd_up_[i] = false;
    ::kill(lvsd_[i]->pid(), SIGKILL);
    lvsd_[i]->stop(0ms);
    start_lvsd(i);
    auto r = wait([&] { return lvsctl(i, {"status"}).ok(); }, 30s);
    check(r, "the new lvsd answers lvsctl status");
    pause(kSettle);  // a check round and a reconcile after the start
    // Only this balancer's next hop counts: another session's BFD hiccup under the
    // emulated CPU is not the restart's doing (and is printed with the route changes).
    const auto events = routes_->events();
    std::string changes;
    bool flapped = false;
    for (std::size_t k = from; k < events.size(); ++k) {
        changes += "\n  " + events[k].line;
        flapped = flapped || !events[k].next_hops.contains(lb_addr(i));
    }
    check(!flapped, fmt::format("the router keeps {}'s next hop throughout (the new lvsd adopts its route)", lb(i)),
          changes);
    settled("lvsd restarted");
}

void Scenario::lvsd_stop_start(int i) {
    step(fmt::format("{}'s lvsd stopped (SIGTERM) and started again", lb(i)));
    auto from = routes_->size();
    lvsd_up_[i] = false;
    const auto stopped = lvsd_[i]->stop(10s);
    check(stopped.status == 0, "lvsd exits 0 on SIGTERM", fmt::format("status {}", stopped.status));
    auto gone = route_change(from, i, false, 10s);
    check(gone.has_value(), "the router drops its next hop (lvsd withdrew its route on the way out)",
          hops_str(routes_->next_hops()));
    from = routes_->size();
    const auto t = Clock::now();
    start_lvsd(i);
    auto back = route_change(from, i, true, 30s);
    check(back && back->next_hops.size() == kBalancers, "the new lvsd announces the VIP again, 3 next hops",
          back ? fmt::format("after {:.2f} s", Seconds(back->seen - t).count()) : hops_str(routes_->next_hops()));
    pause(kSettle);
    settled("lvsd stopped and started");
    measured("flows reset when a balancer's lvsd is restarted (SIGTERM, start)",
             fmt::format("{} of {}", flows_->current().resets, opt_.flows));
}

}  // namespace lvsd::ecmp::detail
