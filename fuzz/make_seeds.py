#!/usr/bin/env python3
"""Writes the binary seed corpora of the fuzz targets (fuzz/corpus/<target>/): valid
messages of every kind each parser takes, built field by field from the RFCs and kernel
headers named below, so that the fuzzer starts from the shapes it must get right. The
text targets (config_load, keepalived_import) start from the project's example and test
configurations where they are (scripts/fuzz names those directories). Deterministic:
running it again changes nothing.
Usage: fuzz/make_seeds.py   (from anywhere)"""
import os
import socket
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ip4(a):
    return socket.inet_pton(socket.AF_INET, a)


def ip6(a):
    return socket.inet_pton(socket.AF_INET6, a)


def ipv4_header(src, dst, proto, payload, ttl=255):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


# --- vrrp_codec: RFC 3768 (v2) and RFC 5798 (v3) adverts. First byte: bit 0 IPv6,
# bit 1 the expectation's version 3, bit 2 PASS authentication expected.
def vrrp_v2(vrid, prio, addrs, auth_type=0, auth=b"", interval=1):
    body = struct.pack("!BBBBBBH", 0x21, vrid, prio, len(addrs), auth_type, interval, 0)
    body += b"".join(ip4(a) for a in addrs) + auth.ljust(8, b"\0")[:8]
    return body[:6] + struct.pack("!H", csum(body)) + body[8:]


def vrrp_v3(vrid, prio, addrs, src, dst, v6=False, interval_cs=100):
    packed = b"".join((ip6 if v6 else ip4)(a) for a in addrs)
    body = struct.pack("!BBBBH", 0x31, vrid, prio, len(addrs), interval_cs & 0x0FFF) + b"\0\0" + packed
    if v6:
        pseudo = ip6(src) + ip6(dst) + struct.pack("!I3xB", len(body), 112)
    else:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 112, len(body))
    return body[:6] + struct.pack("!H", csum(pseudo + body)) + body[8:]


def vrrp_seeds():
    src, dst = "192.0.2.2", "224.0.0.18"
    write("vrrp_codec", "v2-none", b"\x00" + ipv4_header(src, dst, 112, vrrp_v2(51, 150, ["192.0.2.10"])))
    write("vrrp_codec", "v2-pass", b"\x04" + ipv4_header(src, dst, 112, vrrp_v2(51, 100, ["192.0.2.10", "192.0.2.11"], 1, b"secret1")))
    write("vrrp_codec", "v2-no-vips", b"\x00" + ipv4_header(src, dst, 112, vrrp_v2(51, 100, [])))
    write("vrrp_codec", "v3-v4", b"\x02" + ipv4_header(src, dst, 112, vrrp_v3(51, 150, ["192.0.2.10"], src, dst)))
    write("vrrp_codec", "v3-v4-priority0", b"\x02" + ipv4_header(src, dst, 112, vrrp_v3(51, 0, ["192.0.2.10"], src, dst, interval_cs=10)))
    write("vrrp_codec", "v3-v6", b"\x03" + vrrp_v3(51, 150, ["2001:db8::10", "2001:db8::11"], "2001:db8::1", "ff02::12", v6=True))


# --- syn_reply: a SYN-ACK and a RST as the prober's raw sockets see them (RFC 9293).
def tcp(sport, dport, seq, ack, flags, src, dst, v6=False):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    if v6:
        pseudo = ip6(src) + ip6(dst) + struct.pack("!I3xB", len(seg), 6)
    else:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(seg))
    return seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]


def syn_seeds():
    write("syn_reply", "v4-synack", ipv4_header("192.0.2.20", "192.0.2.1", 6, tcp(8080, 40000, 7, 1001, 0x12, "192.0.2.20", "192.0.2.1"), 64))
    write("syn_reply", "v4-rst", ipv4_header("192.0.2.20", "192.0.2.1", 6, tcp(8080, 40000, 0, 1001, 0x14, "192.0.2.20", "192.0.2.1"), 64))
    write("syn_reply", "v6-synack", tcp(8080, 40000, 7, 1001, 0x12, "2001:db8::2", "2001:db8::1", v6=True))


# --- netlink helpers (<linux/netlink.h>, <linux/rtnetlink.h>, <linux/genetlink.h>).
def nla(t, payload):
    n = struct.pack("=HH", 4 + len(payload), t) + payload
    return n + b"\0" * ((4 - len(n) % 4) % 4)


def nlmsg(mtype, flags, payload, seq=1):
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload


RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI, NLM_F_DUMP_INTR = 2, 16


def link(index, name, up=True):
    ifinfo = struct.pack("=BxHiII", 0, 1, index, 0x1043 if up else 0x1002, 0)
    return ifinfo + nla(3, name.encode() + b"\0") + nla(1, bytes.fromhex("020000000001")) + nla(16, struct.pack("=B", 6 if up else 2))


def addr(index, family, a, plen, label=None):
    raw = ip4(a) if family == 2 else ip6(a)
    ifa = struct.pack("=BBBBI", family, plen, 0, 0, index)
    body = ifa + nla(1, raw) + nla(2, raw)
    if label:
        body += nla(3, label.encode() + b"\0")
    return body


def rtnl_seeds():
    dump = nlmsg(RTM_NEWLINK, NLM_F_MULTI, link(1, "lo")) + nlmsg(RTM_NEWLINK, NLM_F_MULTI, link(2, "eth0"))
    write("rtnl_decode", "link-dump", dump + nlmsg(NLMSG_DONE, NLM_F_MULTI, struct.pack("=i", 0)))
    write("rtnl_decode", "addr-dump", nlmsg(RTM_NEWADDR, NLM_F_MULTI, addr(2, 2, "192.0.2.2", 24, "eth0"))
          + nlmsg(RTM_NEWADDR, NLM_F_MULTI, addr(2, 10, "2001:db8::2", 64))
          + nlmsg(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, struct.pack("=i", 0)))
    write("rtnl_decode", "events", nlmsg(RTM_DELADDR, 0, addr(2, 2, "192.0.2.10", 24, "eth0:vip"))
          + nlmsg(RTM_NEWLINK, 0, link(2, "eth0", up=False)) + nlmsg(RTM_DELLINK, 0, link(3, "vrrp.51")))
    write("rtnl_decode", "error", nlmsg(NLMSG_ERROR, 0, struct.pack("=i", -19) + nlmsg(RTM_NEWADDR, 0, b"")))


# --- ipvs_decode: IPVS generic netlink (<linux/ip_vs.h>): a service and a destination
# as dump replies carry them, a sync daemon and the timeouts.
GENL_ID = 0x20


def genl(cmd, attrs):
    return nlmsg(GENL_ID, NLM_F_MULTI, struct.pack("=BBH", cmd, 1, 0) + attrs)


def stats(t):
    return nla(t, b"".join(nla(i, struct.pack("=I", i * 7)) for i in range(1, 11)))


def service(af, proto, a, port, sched, fwmark=0):
    body = nla(1, struct.pack("=H", af))
    if fwmark:
        body += nla(5, struct.pack("=I", fwmark))
    else:
        raw = (ip4(a) if af == 2 else ip6(a)).ljust(16, b"\0")
        body += nla(2, struct.pack("=H", proto)) + nla(3, raw) + nla(4, struct.pack("!H", port))
    body += nla(6, sched.encode() + b"\0") + nla(7, struct.pack("=II", 0, 0xFFFFFFFF)) + nla(8, struct.pack("=I", 300))
    body += nla(9, struct.pack("=I", 0xFFFFFFFF if af == 2 else 128)) + stats(10) + nla(11, b"mh\0")
    return nla(1, body)


def dest(a, port, weight, af=2):
    raw = (ip4(a) if af == 2 else ip6(a)).ljust(16, b"\0")
    body = nla(1, raw) + nla(2, struct.pack("!H", port)) + nla(3, struct.pack("=I", 2)) + nla(4, struct.pack("=I", weight))
    body += nla(5, struct.pack("=I", 0)) + nla(6, struct.pack("=I", 0)) + nla(7, struct.pack("=I", 3)) + nla(8, struct.pack("=I", 1))
    body += nla(9, struct.pack("=I", 0)) + stats(10) + nla(11, struct.pack("=H", af))
    return nla(2, body)


def ipvs_seeds():
    write("ipvs_decode", "service-v4", genl(1, service(2, 6, "192.0.2.100", 8080, "wlc")))
    write("ipvs_decode", "service-v6-fwmark", genl(1, service(10, 0, "", 0, "mh", fwmark=7)))
    write("ipvs_decode", "dest", genl(5, service(2, 6, "192.0.2.100", 8080, "rr") + dest("198.51.100.1", 8080, 10)))
    write("ipvs_decode", "dest-v6", genl(5, service(10, 6, "2001:db8::100", 80, "rr") + dest("2001:db8::1", 80, 1, af=10)))
    daemon = nla(3, nla(1, struct.pack("=I", 1)) + nla(2, b"eth0\0") + nla(3, struct.pack("=I", 51)))
    write("ipvs_decode", "daemon", genl(13, daemon))
    write("ipvs_decode", "timeouts", genl(18, nla(4, struct.pack("=I", 900)) + nla(5, struct.pack("=I", 120)) + nla(6, struct.pack("=I", 300))))


if __name__ == "__main__":
    vrrp_seeds()
    syn_seeds()
    rtnl_seeds()
    ipvs_seeds()
