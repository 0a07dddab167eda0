// The genetlink IPVS client: one object owns the netlink socket and the resolved family
// id (no globals); whoever needs IPVS gets it passed in. Every call returns a Result
// whose error names the operation, the object and the kernel's reason.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ipvs/ipvs.hpp"
#include "ipvs/reconcile.hpp"

namespace lvsd::ipvs {

class Client final : public Backend {
public:
    // Connects and resolves the "IPVS" family, retrying once while ip_vs autoloads.
    // Without IPVS: "IPVS is not available in this kernel: modprobe ip_vs".
    // `receive_buffer`: bytes the kernel may queue for the replies (batches of ops are
    // sized so that their ACKs fit); tests make it small so that the kernel drops
    // replies and reports ENOBUFS.
    static constexpr int kReceiveBuffer = 8 << 20;
    static Result<std::unique_ptr<Client>> open(int receive_buffer = kReceiveBuffer);
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    Result<void> add_service(const Service& s);
    Result<void> edit_service(const Service& s);
    Result<void> delete_service(const ServiceKey& k);
    // Services of a protocol lvsd does not model (IPVS's AH/ESP) are left out.
    // Every dump (services, destinations, dump(), sync_daemons) is asked again from the
    // start when the kernel reports lost replies (ENOBUFS), up to 3 times in all.
    Result<std::vector<ServiceStatus>> services();

    Result<void> add_destination(const ServiceKey& s, const Destination& d);
    Result<void> edit_destination(const ServiceKey& s, const Destination& d);
    Result<void> delete_destination(const ServiceKey& s, const DestinationKey& d);
    Result<std::vector<DestinationStatus>> destinations(const ServiceKey& s);

    // Removes every service (ipvsadm -C). Not used by the reconciler, which never
    // touches services it does not own; for tests and tools.
    Result<void> flush();

    Result<Timeouts> timeouts();
    Result<void> set_timeouts(const Timeouts& t);

    Result<void> start_sync_daemon(const SyncDaemon& d);
    Result<void> stop_sync_daemon(SyncRole role);
    Result<std::vector<SyncDaemon>> sync_daemons();

    // Backend. `apply` sends the ops in batches (many netlink messages per sendmsg)
    // and collects one ACK per op, so a large table costs few syscalls.
    Result<Table> dump() override;
    std::vector<Result<void>> apply(std::span<const Op> ops) override;

    // Netlink requests sent since open(), dump requests included (for benchmarks).
    uint64_t requests_sent() const;

    struct Impl;

private:
    explicit Client(std::unique_ptr<Impl> impl);
    // One attempt each; the public calls repeat one whose replies were lost (ENOBUFS).
    Result<std::vector<ServiceStatus>> services_once();
    Result<Table> dump_once();
    Result<std::vector<SyncDaemon>> sync_daemons_once();
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsd::ipvs
