#include "vrrp/priority.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::vrrp {

std::string_view to_string(Tracker::Kind kind) {
    switch (kind) {
        case Tracker::Kind::Interface: return "interface";
        case Tracker::Kind::Script: return "script";
        case Tracker::Kind::ArpTarget: return "arp";
        case Tracker::Kind::File: return "file";
        case Tracker::Kind::Process: return "process";
    }
    return "tracker";
}

EffectivePriority effective_priority(uint8_t base, const std::vector<Tracker>& trackers) {
    EffectivePriority out;
    int sum = base;
    for (const auto& t : trackers) {
        Contribution c;
        c.what = fmt::format("{} {}", to_string(t.kind), t.name);
        if (t.kind == Tracker::Kind::File) {
            // keepalived's track_file: the value times the weight; with weight 0 any value
            // but 0 is a fault, and a product of -254 or less is one too.
            const long v = t.value.value_or(0);
            if (t.weight == 0) {
                c.fault = v != 0;
            } else {
                const long product = v * t.weight;
                c.fault = product <= -254;
                if (!c.fault) c.delta = static_cast<int>(std::clamp(product, -253L, 253L));
            }
        } else if (t.weight == 0) {
            c.fault = !t.ok;
        } else if (t.weight > 0) {
            c.delta = t.ok ? t.weight : 0;
        } else {
            c.delta = t.ok ? 0 : t.weight;
        }
        if (c.fault && out.fault.empty())
            out.fault = t.kind == Tracker::Kind::File ? fmt::format("{} holds {}", c.what, t.value.value_or(0))
                                                      : fmt::format("{} {}", c.what, t.failure);
        sum += c.delta;
        out.contributions.push_back(std::move(c));
    }
    // RFC 5798 §6.1: 255 is the owner's alone, 0 means stopping; keepalived never moves
    // an owner.
    out.priority = base == 255 ? uint8_t{255} : static_cast<uint8_t>(std::clamp(sum, 1, 254));
    return out;
}

bool ScriptVerdict::observe(bool success) {
    const bool before = ok_;
    if (success) {
        failures_ = 0;
        if (++successes_ >= rise_) ok_ = true;
    } else {
        successes_ = 0;
        if (++failures_ >= fall_) ok_ = false;
    }
    return ok_ != before;
}

}  // namespace lvsd::vrrp
