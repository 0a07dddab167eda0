// A network lab for the netns and kernel test tiers: network namespaces, veth pairs,
// bridges, addresses and routes made with the real `ip` tool, processes run inside them,
// and all of it removed again when the Lab goes out of scope, also after a failed
// assertion. The same code runs on the host (netns tier) and in the VM (kernel tier).
//
//   lvsd::testing::Lab lab;
//   lab.netns("a");                          // namespace "lvt-<pid>-<n>-a", lo up
//   lab.netns("b");
//   lab.netns("sw");
//   lab.bridge("sw", "br0");
//   lab.veth("a", "eth0", "sw", "a0");       // a:eth0 <-> sw:a0
//   lab.enslave("sw", "a0", "br0");
//   lab.address("a", "eth0", "192.0.2.1/24"); // brings eth0 up; v6 without DAD
//   auto r = lab.exec("a", {"ping", "-c1", "192.0.2.2"});
//   EXPECT_EQ(r.status, 0) << r.output;
//   auto srv = lab.spawn("b", {"tinyproxy", "-d", "-c", conf});   // killed on scope exit
//
// Names: every object a Lab creates in a shared place (namespace names, interfaces in
// the current namespace) starts with "lvt-" and carries the creating process's pid, so a
// new Lab removes what a crashed earlier run left behind without touching the objects of
// a test that is still running (another engineer's, say). Interfaces inside the lab's
// own namespaces keep the plain names the test gives them.
//
// Setup failures throw LabError (a std::runtime_error whose message has the failing
// command and its output); GoogleTest reports it as a test failure and the Lab's
// destructor still cleans up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::testing {

using namespace std::chrono_literals;

class LabError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Moves the calling thread into the network namespace /run/netns/NAME (a lab's full name,
// as Lab::netns_name gives it) for its lifetime, and back after. Sockets keep the
// namespace they were made in: a test makes listeners inside one and probes from another.
// Throws LabError when it cannot enter; aborts when it cannot return (the rest of the run
// would be in the lab).
class InNamespace {
public:
    explicit InNamespace(const std::string& name);
    ~InNamespace();
    InNamespace(const InNamespace&) = delete;
    InNamespace& operator=(const InNamespace&) = delete;

private:
    int home_ = -1;
};

struct RunResult {
    int status = -1;        // exit code; 128+N when killed by signal N
    bool timed_out = false;  // killed because it outran its deadline
    std::string output;     // stdout and stderr, interleaved as written
    bool ok() const { return status == 0 && !timed_out; }
};

// Runs argv (no shell; argv[0] is looked up in PATH) and collects its output. When `netns`
// is not empty the command runs under `ip netns exec netns`. Killed (whole process group)
// after `timeout`.
RunResult run(const std::vector<std::string>& argv, const std::string& netns = {},
              std::chrono::milliseconds timeout = 30s);

// Polls `condition` every `interval` until it returns true (-> true) or `timeout` has
// passed on the steady clock (-> false). For the netns and kernel tiers only: unit tests
// pass time in instead.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 20ms);

class Process;
// After `marker` appears in `p`'s output (or `p` exits), waits until the output has not
// grown for `quiet`: a program that writes a report in many pieces (keepalived's -d dump)
// is done with it then, even on a loaded machine. False when the marker never came.
bool wait_for_output(Process& p, std::string_view marker, std::chrono::milliseconds timeout = 10s,
                     std::chrono::milliseconds quiet = 500ms);

// A background process in its own process group. Destroying the handle (or stop()) sends
// SIGTERM to the whole group, waits up to a grace period, then SIGKILLs the group.
// Output (stdout and stderr) goes to a temporary file that output() reads at any time.
class Process {
public:
    Process() = default;
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    pid_t pid() const { return pid_; }
    const std::string& name() const { return name_; }  // the command, for messages
    bool running();                // false once it exited (status() is then valid)
    int status() const { return status_; }  // exit code or 128+signal; -1 while running
    std::string output() const;    // all it wrote so far
    // Terminates the process group (SIGTERM, then SIGKILL after `grace`) and returns the
    // final status and output.
    RunResult stop(std::chrono::milliseconds grace = 3s);

private:
    friend Process spawn(const std::vector<std::string>& argv, const std::string& netns);
    bool exited();  // records status_ without reaping
    void reap();

    pid_t pid_ = -1;
    int status_ = -1;
    bool reaped_ = false;
    std::string name_;
    std::string log_path_;
};

// Starts argv in the background (in `netns` when not empty). Throws LabError when the
// process cannot be started.
Process spawn(const std::vector<std::string>& argv, const std::string& netns = {});

class Lab {
public:
    // Removes stale objects of earlier, crashed runs (by dead owner pid) and picks this
    // lab's unique name prefix.
    Lab();
    ~Lab();  // teardown(), never throws
    Lab(const Lab&) = delete;
    Lab& operator=(const Lab&) = delete;

    // The lab's prefix, e.g. "lvt-4242-0-": everything it created in shared places starts
    // with "lvt-<pid>".
    const std::string& prefix() const { return prefix_; }

    // Creates a namespace with lo up and IPv6 DAD off, and returns its full name (for
    // `ip netns exec`, /run/netns/<name>). `name` is the short name the other methods take.
    const std::string& netns(const std::string& name);
    // Full name of a namespace made by netns(); "" for "" (the current namespace).
    const std::string& netns_name(const std::string& name) const;

    // Creates a veth pair: `if_a` in namespace `ns_a`, `if_b` in `ns_b`. "" as namespace
    // means the current one (the VM's root; on the host, avoid it). Both ends are up.
    // An end in the current namespace gets the name current_if(if_x) instead.
    void veth(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
              const std::string& if_b);
    // The real name of interface `name` when created by this lab in the current
    // namespace: "lvt-<pid base36>-<name>", at most 15 characters (name ≤ 5 or so).
    std::string current_if(const std::string& name) const;

    // Creates a bridge (STP off, no forward delay, multicast snooping off, so multicast
    // like VRRP adverts floods at once) and brings it up.
    void bridge(const std::string& ns, const std::string& br);
    void enslave(const std::string& ns, const std::string& ifname, const std::string& br);
    // Adds an address ("192.0.2.1/24", "2001:db8::1/64"; v6 with nodad so it is usable at
    // once) and brings the interface up.
    void address(const std::string& ns, const std::string& ifname, const std::string& cidr);
    // `ip route add <route>` in ns, e.g. route("a", "default via 192.0.2.254").
    void route(const std::string& ns, const std::string& route);
    // Sets a sysctl in ns, e.g. sysctl("r", "net.ipv4.ip_forward", "1").
    void sysctl(const std::string& ns, const std::string& key, const std::string& value);
    // Runs `ip <args>` in ns (args split on spaces) and throws when it fails.
    std::string ip(const std::string& ns, const std::string& args);

    // Runs a command in ns and returns its status and output (does not throw on failure).
    RunResult exec(const std::string& ns, const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout = 30s) const;
    // `sh -c script` in ns.
    RunResult sh(const std::string& ns, const std::string& script,
                 std::chrono::milliseconds timeout = 30s) const;
    // Like exec, but throws LabError unless the command exits 0; returns its output.
    std::string must(const std::string& ns, const std::vector<std::string>& argv) const;
    // Starts a background process in ns. Teardown also kills every process left in the
    // lab's namespaces; still, destroy Process handles before their Lab.
    Process spawn(const std::string& ns, const std::vector<std::string>& argv) const;

    // Removes everything (kills processes in the namespaces, deletes links made in the
    // current namespace, deletes the namespaces). Idempotent; the destructor calls it.
    // Returns the problems it met (empty when clean).
    std::vector<std::string> teardown();

    // Every namespace / current-namespace link that carries the "lvt-" prefix right now.
    static std::vector<std::string> lab_namespaces();
    static std::vector<std::string> lab_links();
    // Removes objects whose owner process is gone; Lab() calls it.
    static void remove_stale();

private:
    void set_up(const std::string& ns, const std::string& ifname);

    std::string prefix_;      // "lvt-<pid>-<n>-": namespaces
    std::string if_prefix_;   // "lvt-<pid36>-": links in the current namespace
    std::map<std::string, std::string> namespaces_;  // short -> full
    std::vector<std::string> current_links_;
    // Interfaces this lab brought up, as (namespace, name), so address() need not run
    // `ip link set up` again. ip() with "down" forgets the namespace's entries.
    std::set<std::pair<std::string, std::string>> up_;
};

}  // namespace lvsd::testing
