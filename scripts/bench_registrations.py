#!/usr/bin/python3
"""Benchmarks mipv6d's home agent: home registration refreshes per second (issue 7), with
signalling "none" and with ESP (RFC 3776 / RFC 4877 transport mode, aes-gcm-16).

Two network namespaces "mipv6r-<pid>-*", always removed again, also on error or a signal:

    ha: home0 2001:db8:1::1/64 ---- peer: mn0   (the home link: the HA's DAD, nobody answers)
        fgn0  2001:db8:2::1/64 ---- peer: coa0  (the mobile nodes' care-of addresses,
                                                2001:db8:5::/64, routed via the peer)

The peer is no stack: its kernel is silenced (ip6tables OUTPUT DROP) and it sends pre-built
Ethernet frames with sendmmsg(2) on an AF_PACKET socket. MOBILE_NODES mobile nodes, each with
its own home address, care-of address and (ESP run) [[security.esp]] entry and key file, first
register (DAD included, not measured); then refresh BUs with increasing sequence numbers (and,
with ESP, increasing ESP sequence numbers, encrypted by scapy beforehand) go to the home agent
round robin, as fast as it takes them, until all are sent or --seconds are up: the sender
keeps QUEUE_TARGET BUs waiting in the NFQUEUE they pass through (Home Address option,
DESIGN.md §3), so that the kernel drops none and the daemon never waits. The per-source and
global BU rate limits are raised in the configuration: the daemon is measured, not its limiter.
A second thread counts the Binding Acknowledgements on the wire with
PACKET_STATISTICS of an AF_PACKET socket whose classic BPF filter keeps only IPv6 / Type 2
Routing header / MH BA with status 0 (plain) or IPv6 / Type 2 Routing header / ESP (the
daemon's ba_accepted counter says how many of those were status 0).

Prints BENCH lines (also to --bench-out for scripts/bench_summary.py):
  BENCH ha_registrations_per_s <n> 1/s
  BENCH ha_registrations_per_s_esp <n> 1/s baseline=<plain> ratio=<esp/plain>
  BENCH ha_registrations_esp_ratio <r> ratio
Without root or the binaries: one SKIP line, exit 0. Exit 1 when a measurement failed.

Usage: scripts/bench_registrations.py [--bin-dir build/release/apps] [--seconds 3]
                                      [--mobile-nodes 1000] [--bench-out FILE]
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_harness import BenchError, make_log, run, run_bench  # noqa: E402

HA_HOME, HA_FOREIGN = "2001:db8:1::1", "2001:db8:2::1"
HA_HOME_MAC, PEER_HOME_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02"
HA_FOREIGN_MAC, PEER_COA_MAC = "02:00:00:00:02:01", "02:00:00:00:02:02"
PEER_LINK_LOCAL = "fe80::ff:fe00:202"  # EUI-64 of PEER_COA_MAC
CARE_OF_PREFIX = "2001:db8:5::/64"
IPPROTO_MH, IPPROTO_ESP, IPPROTO_DSTOPTS = 135, 50, 60
BATCH = 64
# NFQUEUE entries kept waiting: the daemon's queue holds 1024, but its netlink socket's receive
# buffer fills up first (the kernel then drops the packet: user_dropped).
QUEUE_TARGET = 128
ROUNDS = 3  # measurements per mode; the median is reported (the machine is shared)
LIFETIME_UNITS = 250  # 1000 s asked; max_lifetime grants 600 s: nothing expires meanwhile


log = make_log("bench_registrations")



# ---------------------------------------------------------------------------------------------
# Addresses and packets (RFC 6275 §6.1.7 BU, §6.3 Home Address option, RFC 4303 ESP)


def addr(text):
    return socket.inet_pton(socket.AF_INET6, text)


def home_address(i):
    return f"2001:db8:1::1:{i:x}"


def care_of_address(i):
    return f"2001:db8:5::1:{i:x}"


def checksum(source, destination, protocol, data):
    pseudo = addr(source) + addr(destination) + struct.pack("!IxxxB", len(data), protocol)
    blob = pseudo + data + (b"\0" if len(data) % 2 else b"")
    total = sum(struct.unpack(f"!{len(blob) // 2}H", blob))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def binding_update(sequence, home, care_of):
    """A home registration (A and H flags) with an Alternate Care-of Address option at 8n+6
    (§6.2.5), its checksum over the home address (the Home Address option's, §6.3)."""
    body = struct.pack("!HBBH", sequence, 0xC0, 0, LIFETIME_UNITS)
    options = bytes([1, 0]) + bytes([3, 16]) + addr(care_of)  # PadN to 8n+6, Alt-CoA
    mh = bytes([59, 0, 5, 0, 0, 0]) + body + options
    mh = mh[:1] + bytes([len(mh) // 8 - 1]) + mh[2:]
    value = checksum(home, HA_HOME, IPPROTO_MH, mh)
    return mh[:4] + struct.pack("!H", value) + mh[6:]


def frame(care_of, home, next_header, payload):
    """Ethernet / IPv6 (care-of -> HA) / Destination Options {Home Address} / payload."""
    hao = bytes([next_header, 2, 1, 2, 0, 0, 0xC9, 16]) + addr(home)
    ipv6 = struct.pack("!IHBB", 6 << 28, len(hao) + len(payload), IPPROTO_DSTOPTS, 64)
    ether = bytes.fromhex(HA_FOREIGN_MAC.replace(":", "") + PEER_COA_MAC.replace(":", "")) + \
        b"\x86\xdd"
    return ether + ipv6 + addr(care_of) + addr(HA_HOME) + hao + payload


def esp_keys(i):
    """Per mobile node keys (20 octets: AES-128 key + 4-octet salt, RFC 4106 §8.1)."""
    mn_to_ha = bytes((i * 7 + k) & 0xFF for k in range(16)) + struct.pack("!I", i)
    ha_to_mn = bytes((i * 11 + k + 1) & 0xFF for k in range(16)) + struct.pack("!I", i + 1)
    return mn_to_ha, ha_to_mn


def spis(i):
    return 0x1000 + 2 * i, 0x1001 + 2 * i  # mn_to_ha, ha_to_mn


class Mobiles:
    """The mobile nodes' frames: one first registration and `refreshes` refreshes each."""

    def __init__(self, count, refreshes, esp):
        self.count = count
        self.esp = esp
        self.sas = [self.security_association(i) for i in range(count)] if esp else None
        self.esp_sequence = [0] * count
        self.first = [self.bu(i, 1) for i in range(count)]
        # Round robin: every mobile node's n-th refresh before anyone's (n+1)-th.
        self.refresh = [self.bu(i, 2 + n) for n in range(refreshes) for i in range(count)]

    def security_association(self, i):
        from scapy.layers.ipsec import ESP, SecurityAssociation
        return SecurityAssociation(ESP, spi=spis(i)[0], crypt_algo="AES-GCM",
                                   crypt_key=esp_keys(i)[0], auth_algo="NULL")

    def bu(self, i, sequence):
        home, care_of = home_address(i), care_of_address(i)
        mh = binding_update(sequence, home, care_of)
        if not self.esp:
            return frame(care_of, home, IPPROTO_MH, mh)
        from scapy.all import Raw
        from scapy.layers.inet6 import IPv6
        self.esp_sequence[i] += 1
        sealed = bytes(self.sas[i].encrypt(IPv6(src=care_of, dst=HA_HOME, nh=IPPROTO_MH) /
                                           Raw(mh), seq_num=self.esp_sequence[i]))
        return frame(care_of, home, IPPROTO_ESP, sealed[40:])  # the ESP header onwards


# ---------------------------------------------------------------------------------------------
# Namespaces, daemon

_libc = ctypes.CDLL(None, use_errno=True)


class Lab:
    def __init__(self, tmp):
        self.tmp = tmp
        prefix = f"mipv6r-{os.getpid()}"
        self.ns = {role: f"{prefix}-{role}" for role in ("ha", "peer")}
        self.created = []
        self.daemon = None

    def exec(self, role, *command, check=True, timeout=60):
        return run("ip", "netns", "exec", self.ns[role], *command, check=check, timeout=timeout)

    def build(self):
        for role, name in self.ns.items():
            run("ip", "netns", "add", name)
            self.created.append(name)
            for key in ("all", "default"):
                self.exec(role, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
            self.exec(role, "ip", "link", "set", "lo", "up")
        self.veth("home0", HA_HOME_MAC, "mn0", PEER_HOME_MAC)
        self.veth("fgn0", HA_FOREIGN_MAC, "coa0", PEER_COA_MAC)
        self.exec("ha", "ip", "-6", "addr", "add", f"{HA_HOME}/64", "dev", "home0", "nodad")
        self.exec("ha", "ip", "-6", "addr", "add", f"{HA_FOREIGN}/64", "dev", "fgn0", "nodad")
        # The peer's kernel says nothing (no NA, no ICMPv6 errors about the BAs' Type 2
        # Routing headers): the home agent gets a static neighbour for its route instead.
        self.exec("peer", "ip6tables-legacy", "-A", "OUTPUT", "-j", "DROP")
        self.exec("ha", "ip", "-6", "neigh", "replace", PEER_LINK_LOCAL, "lladdr", PEER_COA_MAC,
                  "dev", "fgn0", "nud", "permanent")
        self.exec("ha", "ip", "-6", "route", "add", CARE_OF_PREFIX, "via", PEER_LINK_LOCAL,
                  "dev", "fgn0")
        for role, device in (("ha", "home0"), ("ha", "fgn0"), ("peer", "mn0"),
                             ("peer", "coa0")):
            self.wait_operational(role, device)
        self.wait_local_route(HA_HOME)

    def veth(self, ha_device, ha_mac, peer_device, peer_mac):
        run("ip", "link", "add", ha_device, "netns", self.ns["ha"], "address", ha_mac, "type",
            "veth", "peer", "name", peer_device, "netns", self.ns["peer"], "address", peer_mac)
        self.exec("ha", "ip", "link", "set", ha_device, "up")
        self.exec("peer", "ip", "link", "set", peer_device, "up")

    def wait_operational(self, role, device, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            link = json.loads(self.exec(role, "ip", "-j", "link", "show", "dev", device))
            if link and link[0].get("operstate") == "UP":
                return
            time.sleep(0.02)
        raise BenchError(f"{device} never became operational")

    def wait_local_route(self, address, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if address in self.exec("ha", "ip", "-6", "route", "show", "table", "local"):
                return
            time.sleep(0.02)
        raise BenchError(f"no local route for {address}")

    def socket_in(self, role, *args):
        """A socket opened inside namespace `role` (setns of this thread, and back)."""
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns[role]}", os.O_RDONLY)
        try:
            if _libc.setns(target, 0x40000000) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            try:
                return socket.socket(*args)
            finally:
                _libc.setns(own, 0x40000000)
        finally:
            os.close(own)
            os.close(target)

    def close(self):
        if self.daemon is not None:
            self.daemon.stop()
        for name in reversed(self.created):
            run("ip", "netns", "del", name, check=False)
        self.created.clear()


def daemon_config(tmp, name, count, esp):
    text = f"""[node]
roles = ["home_agent"]
control_socket = "{tmp}/{name}.sock"
state_file = "{tmp}/{name}.state"
log_level = "warn"

[home_agent]
interface = "home0"
prefixes = ["2001:db8:1::/64"]
max_lifetime = 600
# The flood limits (issue 7) are lifted: this measures the daemon, not its rate limiter.
bu_rate_per_source = 10000000
bu_rate_global = 10000000

[security]
signalling = "{'esp' if esp else 'none'}"
"""
    if not esp:
        return text
    entries = []
    for i in range(count):
        mn_to_ha, ha_to_mn = esp_keys(i)
        key_file = os.path.join(tmp, f"{name}-mn{i}.keys")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f'[mn_to_ha]\nencryption = "{mn_to_ha.hex()}"\n'
                    f'[ha_to_mn]\nencryption = "{ha_to_mn.hex()}"\n')
        out, back = spis(i)
        entries.append(f"""
[[security.esp]]
home_address = "{home_address(i)}"
home_agent = "{HA_HOME}"
suite = "aes-gcm-16"
key_file = "{key_file}"
spi_mn_to_ha = {out}
spi_ha_to_mn = {back}
""")
    return text + "".join(entries)


class Daemon:
    def __init__(self, lab, bin_dir, name, config_text):
        self.lab = lab
        self.name = name
        self.mipv6d = os.path.join(bin_dir, "mipv6d", "mipv6d")
        self.mipv6ctl = os.path.join(bin_dir, "mipv6ctl", "mipv6ctl")
        self.config = os.path.join(lab.tmp, f"{name}.toml")
        self.socket = os.path.join(lab.tmp, f"{name}.sock")
        self.log_path = os.path.join(lab.tmp, f"{name}.log")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.process = None

    def start(self):
        run(self.mipv6d, "--check", "--config", self.config)
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen(["ip", "netns", "exec", self.lab.ns["ha"],
                                             self.mipv6d, "--config", self.config],
                                            stdout=out, stderr=subprocess.STDOUT)
        self.lab.daemon = self
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"mipv6d exited {self.process.returncode} while starting: "
                                 f"{self.tail()}")
            if os.path.exists(self.socket):
                return
            time.sleep(0.05)
        raise BenchError("mipv6d opened no control socket within 20 s")

    def ctl(self, *args):
        out = run(self.mipv6ctl, "--socket", self.socket, "--json", *args)
        answer = json.loads(out)
        return answer.get("result", answer) if isinstance(answer, dict) else answer

    def stats(self):
        return self.ctl("show", "stats")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.lab.daemon = None

    def tail(self, lines=15):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# Sending and counting


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int), ("len", ctypes.c_uint)]


_libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]


class Sender:
    """sendmmsg(2) of pre-built frames on an AF_PACKET socket, BATCH at a time."""

    def __init__(self, sock, frames):
        self.sock = sock
        self.buffers = [ctypes.create_string_buffer(f, len(f)) for f in frames]
        self.iovecs = (_Iovec * len(frames))()
        self.messages = (_Mmsghdr * len(frames))()
        for i, buffer in enumerate(self.buffers):
            self.iovecs[i].base = ctypes.addressof(buffer)
            self.iovecs[i].len = len(frames[i])
            self.messages[i].iov = ctypes.pointer(self.iovecs[i])
            self.messages[i].iovlen = 1
        self.count = len(frames)
        self.next = 0

    def send_batch(self):
        """Sends up to BATCH of the frames not sent yet; returns how many went."""
        n = min(BATCH, self.count - self.next)
        if n <= 0:
            return 0
        address = ctypes.addressof(self.messages) + self.next * ctypes.sizeof(_Mmsghdr)
        sent = _libc.sendmmsg(self.sock.fileno(), address, n, 0)
        if sent < 0:
            raise OSError(ctypes.get_errno(), "sendmmsg")
        self.next += sent
        return sent


def ba_counter_socket(lab, esp):
    """AF_PACKET socket on coa0 whose classic BPF filter keeps BAs only: IPv6, next header 43
    (Type 2 Routing header, RFC 6275 §6.4: every BA to a care-of address has one), routing
    type 2, then MH type 6 status 0, or ESP. It is never read: PACKET_STATISTICS counts what
    passed the filter, also when the tiny receive buffer dropped it."""
    sock = lab.socket_in("peer", socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
    sock.bind(("coa0", 0))
    accept, drop = (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0)
    checks = [(20, 43), (56, 2)]  # IPv6 next header; RH type (Ethernet 14 + IPv6 40 + 2)
    checks += [(54, IPPROTO_ESP)] if esp else [(54, IPPROTO_MH), (80, 6), (84, 0)]
    program = []
    for index, (offset, value) in enumerate(checks):
        remaining = len(checks) - index - 1
        program += [(0x30, 0, 0, offset),                   # ldb [offset]
                    (0x15, 0, 2 * remaining + 1, value)]    # jeq value, next, drop
    program += [accept, drop]
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    sock.setsockopt(socket.SOL_SOCKET, 26, struct.pack("HL", len(program),
                                                       ctypes.addressof(buffer)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    packet_statistics(sock)  # resets the counters: what came before the filter is gone
    return sock


def packet_statistics(sock):
    """PACKET_STATISTICS (tp_packets includes tp_drops); reading resets them."""
    raw = sock.getsockopt(263, 6, 8)  # SOL_PACKET, PACKET_STATISTICS
    return struct.unpack("II", raw)[0]


class BaCounter(threading.Thread):
    """Samples PACKET_STATISTICS every 10 ms; remembers the total and when it last grew."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.total = 0
        self.last_change = None
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.01):
            got = packet_statistics(self.sock)
            if got:
                self.total += got
                self.last_change = time.monotonic()


def nfqueue_total_reader(lab):
    """A function returning the packets waiting in the HA's NFQUEUE (queue_total column of
    /proc/net/netfilter/nfnetlink_queue, opened inside the ha namespace)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{lab.ns['ha']}", os.O_RDONLY)
    try:
        _libc.setns(target, 0x40000000)
        fd = os.open("/proc/thread-self/net/netfilter/nfnetlink_queue", os.O_RDONLY)
        _libc.setns(own, 0x40000000)
    finally:
        os.close(own)
        os.close(target)

    def rows():
        text = os.pread(fd, 4096, 0).decode()
        return [[int(x) for x in row.split()] for row in text.splitlines() if row.strip()]

    def queued(drops=False):
        if drops:  # queue_dropped (queue full) + user_dropped (socket buffer full)
            return sum(row[5] + row[6] for row in rows())
        return sum(row[2] for row in rows())
    return queued


def registered_homes(daemon):
    """The home addresses with a valid home registration (show bc lists only those)."""
    return {b["home_address"] for b in daemon.ctl("show", "bc").get("bindings", [])
            if b.get("home_registration")}


def measure(lab, bin_dir, count, seconds, esp, refreshes):
    name = "ha-esp" if esp else "ha"
    started = time.monotonic()
    mobiles = Mobiles(count, refreshes, esp)
    log(f"{'ESP' if esp else 'plain'}: built {len(mobiles.refresh) + count} BUs for {count} "
        f"mobile nodes in {time.monotonic() - started:.1f} s")
    daemon = Daemon(lab, bin_dir, name, daemon_config(lab.tmp, name, count, esp))
    started = time.monotonic()
    daemon.start()
    log(f"mipv6d started in {time.monotonic() - started:.2f} s")
    out = lab.socket_in("peer", socket.AF_PACKET, socket.SOCK_RAW, 0)
    out.bind(("coa0", 0))
    out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    queued = nfqueue_total_reader(lab)
    try:
        # First registrations, paced by the queue too; then DAD (1 s) for each. Those the
        # kernel dropped (NFQUEUE full) are sent again, like a mobile node retransmits (§11.8).
        began = time.monotonic()
        missing = list(range(count))
        while missing:
            if time.monotonic() > began + 60:
                raise BenchError(f"{len(missing)} of {count} not registered after 60 s: "
                                 f"{daemon.ctl('show', 'stats')['home_agent']}")
            first = Sender(out, [mobiles.first[i] for i in missing])
            while first.next < first.count:
                if queued() < QUEUE_TARGET:
                    first.send_batch()
            time.sleep(3)
            try:
                homes = registered_homes(daemon)
            except BenchError:  # busy installing routes and proxy entries: ask again
                continue
            missing = [i for i in range(count) if home_address(i) not in homes]
        log(f"{count} first registrations done in {time.monotonic() - began:.1f} s")
        rates = []
        chunk = len(mobiles.refresh) // ROUNDS
        for r in range(ROUNDS):
            frames = mobiles.refresh[r * chunk:(r + 1) * chunk]
            rates.append(measure_round(lab, daemon, out, queued, frames, seconds / ROUNDS, esp))
    finally:
        out.close()
        daemon.stop()
    rate = sorted(rates)[len(rates) // 2]
    log(f"{'ESP' if esp else 'plain'}: rounds " + " ".join(f"{x:.0f}" for x in rates) +
        f" BA/s, median {rate:.0f}")
    return rate


def measure_round(lab, daemon, out, queued, frames, seconds, esp):
    """Sends `frames` (refresh BUs, in sequence order) as fast as the daemon takes them, for
    `seconds` at most; returns the BAs with status 0 per second."""
    before = daemon.stats()["home_agent"]
    counter_socket = ba_counter_socket(lab, esp)
    counter = BaCounter(counter_socket)
    sender = Sender(out, frames)
    drops_before = queued(drops=True)
    counter.start()
    begin = time.monotonic()
    end = begin + seconds
    while time.monotonic() < end and sender.next < sender.count:
        if queued() < QUEUE_TARGET:
            sender.send_batch()
    time.sleep(0.5)  # the answers to what is still queued
    counter.stopping.set()
    counter.join()
    counter_socket.close()
    after = daemon.stats()["home_agent"]
    kernel_drops = queued(drops=True) - drops_before
    if counter.last_change is None:
        raise BenchError(f"no BA seen ({sender.next} BUs sent): {daemon.tail()}")
    elapsed = counter.last_change - begin
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    accepted_share = delta.get("ba_accepted", 0) / max(delta.get("ba_sent", 0), 1)
    rate = counter.total * (accepted_share if esp else 1.0) / elapsed
    log(f"{sender.next} refresh BUs sent, {counter.total} BAs counted on the wire over "
        f"{elapsed:.2f} s, {kernel_drops} dropped by the NFQUEUE; home agent: " +
        " ".join(f"{k}={v}" for k, v in sorted(delta.items()) if v))
    return rate


def skip_reason(bin_dir):
    if os.geteuid() != 0:
        return "needs root (network namespaces, AF_PACKET)"
    for tool in ("ip", "ip6tables-legacy", "sysctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for binary in ("mipv6d/mipv6d", "mipv6ctl/mipv6ctl"):
        if not os.access(os.path.join(bin_dir, binary), os.X_OK):
            return f"{os.path.join(bin_dir, binary)} is not built"
    try:
        import scapy.layers.ipsec  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError as e:
        return f"scapy with cryptography is needed for ESP ({e})"
    return None


def bench(args):
    lines, problems = [], []
    with tempfile.TemporaryDirectory(prefix="mipv6r-") as tmp:
        lab = Lab(tmp)
        try:
            lab.build()
            plain = measure(lab, args.bin_dir, args.mobile_nodes, args.seconds, False,
                            args.refreshes)
            lines.append(f"BENCH ha_registrations_per_s {plain:.0f} 1/s")
            try:
                esp = measure(lab, args.bin_dir, args.mobile_nodes, args.seconds, True,
                              args.refreshes)
                ratio = esp / plain if plain else 0.0
                lines.append(f"BENCH ha_registrations_per_s_esp {esp:.0f} 1/s "
                             f"baseline={plain:.0f} ratio={ratio:.3f}")
                lines.append(f"BENCH ha_registrations_esp_ratio {ratio:.3f} ratio")
            except (BenchError, OSError, ValueError, KeyError) as e:
                log(f"ESP run failed: {e}")
                problems.append(str(e))
                reason = " ".join(str(e).split())[:200]
                lines += [f"BENCH ha_registrations_per_s_esp ERROR {reason}",
                          f"BENCH ha_registrations_esp_ratio ERROR {reason}"]
        except (BenchError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            log(f"failed: {e}")
            problems.append(str(e))
            reason = " ".join(str(e).split())[:200]
            lines = [f"BENCH {n} ERROR {reason}" for n in
                     ("ha_registrations_per_s", "ha_registrations_per_s_esp",
                      "ha_registrations_esp_ratio")]
        finally:
            if args.log_dir:
                os.makedirs(args.log_dir, exist_ok=True)
                for name in os.listdir(tmp):
                    if name.endswith((".log", ".toml")):
                        shutil.copy(os.path.join(tmp, name), args.log_dir)
            lab.close()
    return lines, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", default="build/release/apps")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="longest time for the refreshes of one mode (3 rounds)")
    parser.add_argument("--mobile-nodes", type=int, default=1000,
                        help="distinct home and care-of addresses (the per-source BU rate "
                        "limit applies to each care-of address)")
    parser.add_argument("--refreshes", type=int, default=60, help="refresh BUs per mobile node")
    parser.add_argument("--bench-out", help="also write the BENCH lines to this file")
    parser.add_argument("--log-dir", help="keep the configurations and logs here")
    args = parser.parse_args()
    return run_bench("bench_registrations", lambda: bench(args), skip_reason(args.bin_dir),
                     args.bench_out)


if __name__ == "__main__":
    sys.exit(main())
