"""Shared helpers for the mipv6d system tests (issue 8): real daemons in network namespaces,
a scapy peer on veth links, and checks of what the kernel holds before and after.

Everything a test creates lives in namespaces named "mipv6d-<pid>-<name>", removed in tearDown
and again at exit, even after a failure. Packets are sent and captured with AF_PACKET sockets
opened inside the peer namespace, so nothing ever leaves the namespaces.

Environment: MIPV6D and MIPV6CTL name the binaries (tests/CMakeLists.txt sets them).
"""

import atexit
import contextlib
import ctypes
import errno
import hashlib
import hmac
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, Raw  # noqa: E402
from scapy.layers.inet6 import IPv6, in6_chksum  # noqa: E402

MIPV6D = os.environ.get("MIPV6D", "")
MIPV6CTL = os.environ.get("MIPV6CTL", "")

PREFIX = "mipv6d-%d-" % os.getpid()
IP6TABLES = shutil.which("ip6tables-legacy") or "/usr/sbin/ip6tables-legacy"

IPPROTO_MH = 135
IPPROTO_IPV6 = 41
IPPROTO_DSTOPTS = 60
IPPROTO_ROUTING = 43
IPPROTO_HOPOPTS = 0
IPPROTO_ICMPV6 = 58
IPPROTO_UDP = 17

# Mobility Header types (RFC 6275 §6.1.2).
MH_BRR, MH_HOTI, MH_COTI, MH_HOT, MH_COT, MH_BU, MH_BA, MH_BE = range(8)
# Mobility options (RFC 6275 §6.2).
OPT_PAD1, OPT_PADN, OPT_BRA, OPT_ALT_COA, OPT_NONCE_INDICES, OPT_BAD = range(6)
# Binding Update flags, first octet of the flags field (RFC 6275 §6.1.7).
BU_A, BU_H, BU_L, BU_K = 0x80, 0x40, 0x20, 0x10

_created_namespaces = []
_started_processes = []


def skip_unless_ready():
    """The tests need root and the two binaries; says why they are skipped otherwise."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (network namespaces)")
    for name, path in (("MIPV6D", MIPV6D), ("MIPV6CTL", MIPV6CTL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("%s is not set to an executable (%r)" % (name, path))


# ---------------------------------------------------------------------------------------------
# Commands and namespaces


def run(*args, check=True, ns=None, timeout=20):
    """Runs a command (in namespace `ns` if given); returns its stdout."""
    argv = list(args)
    if ns is not None:
        argv = ["ip", "netns", "exec", ns] + argv
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), done.returncode,
                                                   done.stderr.strip()))
    return done.stdout


def ns_name(name):
    return PREFIX + name


def create_namespace(name):
    full = ns_name(name)
    run("ip", "netns", "add", full)
    _created_namespaces.append(full)
    run("ip", "-n", full, "link", "set", "lo", "up")
    # No Duplicate Address Detection by the kernels: addresses (link-local ones too) and their
    # local routes are final at once, so that state snapshots do not change on their own.
    sysctl(full, "net.ipv6.conf.all.accept_dad", "0")
    sysctl(full, "net.ipv6.conf.default.accept_dad", "0")
    return full


def remove_namespace(full):
    """Deletes `full` (the daemons in it were stopped or killed before, by their pid)."""
    subprocess.run(["ip", "netns", "del", full], stderr=subprocess.DEVNULL)
    if full in _created_namespaces:
        _created_namespaces.remove(full)


def cleanup_all():
    for process in list(_started_processes):
        if process.poll() is None:
            process.kill()
            with contextlib.suppress(Exception):
                process.wait(timeout=5)
        _started_processes.remove(process)
    for full in list(_created_namespaces):
        remove_namespace(full)


atexit.register(cleanup_all)


def _on_signal(signum, _frame):
    cleanup_all()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def in_netns(full):
    """Runs the block with this thread in namespace `full`; sockets opened there stay there."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + full, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + full)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


def veth(ns_a, if_a, mac_a, ns_b, if_b, mac_b):
    run("ip", "-n", ns_a, "link", "add", if_a, "address", mac_a, "type", "veth", "peer", "name",
        if_b, "netns", ns_b, "address", mac_b)
    run("ip", "-n", ns_a, "link", "set", if_a, "up")
    run("ip", "-n", ns_b, "link", "set", if_b, "up")


def add_address(ns, ifname, cidr):
    run("ip", "-n", ns, "-6", "addr", "add", cidr, "dev", ifname, "nodad")


def sysctl(ns, key, value):
    run("sysctl", "-qw", "%s=%s" % (key, value), ns=ns)




def wait_until(predicate, timeout=5.0, interval=0.02, what="condition"):
    """Polls `predicate` until it returns something true; returns it or raises with `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" %
                                 (timeout, what, last))
        time.sleep(interval)


def wait_operational(ns, ifname):
    """A veth drops what is sent until it is operational (DESIGN.md §3)."""

    def up():
        links = json.loads(run("ip", "-n", ns, "-j", "link", "show", "dev", ifname))
        return links and links[0].get("operstate") == "UP"

    wait_until(up, timeout=5, what="%s in %s to be operational" % (ifname, ns))


def wait_local_route(ns, address):
    """Addresses added with nodad get their local route a moment later."""

    def present():
        return address in run("ip", "-n", ns, "-6", "route", "show", "table", "local")

    wait_until(present, timeout=5, what="local route for %s in %s" % (address, ns))




# ---------------------------------------------------------------------------------------------
# Kernel state snapshot

_SYSCTL_KEYS = ("forwarding", "proxy_ndp", "accept_ra", "optimistic_dad", "use_optimistic",
                "accept_dad", "autoconf", "disable_ipv6", "accept_source_route", "mtu")


def snapshot(ns):
    """What the kernel holds in `ns` that a daemon may change, in a comparable form."""
    state = {}
    state["rules"] = run("ip", "-n", ns, "-6", "rule", "show").splitlines()
    routes = run("ip", "-n", ns, "-6", "route", "show", "table", "all").splitlines()
    state["routes"] = sorted(re.sub(r" expires \d+sec", "", line) for line in routes
                             if "cache" not in line)
    state["ip6tables_raw"] = run(IP6TABLES, "-t", "raw", "-S", ns=ns).splitlines()
    state["ip6tables_mangle"] = run(IP6TABLES, "-t", "mangle", "-S", ns=ns).splitlines()
    state["proxy_neighbours"] = sorted(
        run("ip", "-n", ns, "-6", "neigh", "show", "proxy").splitlines())
    links = json.loads(run("ip", "-n", ns, "-j", "link", "show"))
    state["links"] = sorted("%s mtu %s" % (link["ifname"], link.get("mtu")) for link in links)
    addresses = json.loads(run("ip", "-n", ns, "-6", "-j", "addr", "show"))
    state["addresses"] = sorted(
        "%s %s/%s" % (link["ifname"], info["local"], info["prefixlen"]) for link in addresses
        for info in link.get("addr_info", []))
    values = []
    ifnames = ["all", "default"] + [link["ifname"] for link in links]
    for ifname in ifnames:
        for key in _SYSCTL_KEYS:
            path = "/proc/sys/net/ipv6/conf/%s/%s" % (ifname, key)
            values.append("%s=%s" % (path, _read_in_ns(ns, path)))
        if ifname != "all":
            path = "/proc/sys/net/ipv6/neigh/%s/proxy_delay" % ifname
            values.append("%s=%s" % (path, _read_in_ns(ns, path)))
    state["sysctls"] = values
    return state


def queue_rules(ns):
    """The daemon's NFQUEUE rules in `ns` (raw PREROUTING, tagged mipv6d), as -S prints them."""
    return [line for line in run(IP6TABLES, "-t", "raw", "-S", ns=ns).splitlines()
            if "--comment mipv6d" in line]


def _read_in_ns(ns, path):
    with in_netns(ns):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError as error:
            return "<%s>" % error.strerror


def snapshot_diff(before, after, ignore=None):
    """Lines added or removed per category; `ignore(category, line)` filters expected changes."""
    diff = {}
    for key in before:
        old, new = set(before[key]), set(after[key])
        added = sorted(line for line in new - old if not (ignore and ignore(key, line)))
        removed = sorted(line for line in old - new if not (ignore and ignore(key, line)))
        if added or removed:
            diff[key] = {"added": added, "removed": removed}
    return diff


def traces(ns):
    """What a running or crashed mipv6d leaves behind, by the marks issue 8 gives them."""
    found = []
    for line in run("ip", "-n", ns, "-6", "rule", "show").splitlines():
        priority = int(line.split(":")[0])
        if 1000 <= priority <= 1003:
            found.append("rule " + line)
    for table in ("1091", "1092", "1093"):
        for line in run("ip", "-n", ns, "-6", "route", "show", "table", table,
                        check=False).splitlines():
            found.append("route table %s %s" % (table, line))
    for line in run("ip", "-n", ns, "-6", "route", "show", "table", "all").splitlines():
        if "proto 109" in line:
            found.append("route " + line)
    for line in run(IP6TABLES, "-t", "raw", "-S", ns=ns).splitlines():
        if "mipv6d" in line:
            found.append("ip6tables " + line)
    for line in run("ip", "-n", ns, "-6", "neigh", "show", "proxy").splitlines():
        found.append("proxy " + line)
    for link in json.loads(run("ip", "-n", ns, "-j", "link", "show")):
        if re.match(r"mip6(ha|cn|mn)", link["ifname"]):
            found.append("link " + link["ifname"])
    return found


# ---------------------------------------------------------------------------------------------
# The daemon


class Daemon:
    """One mipv6d in a namespace, with its own control socket, state file and log."""

    def __init__(self, ns, workdir, name, config_text):
        self.ns = ns
        self.name = name
        self.socket = os.path.join(workdir, name + ".sock")
        self.state_file = os.path.join(workdir, name + ".state")
        self.config = os.path.join(workdir, name + ".toml")
        self.log_path = os.path.join(workdir, name + ".log")
        self.process = None
        self.write_config(config_text)

    def write_config(self, text):
        text = text.replace("@SOCKET@", self.socket).replace("@STATE@", self.state_file)
        with open(self.config, "w") as f:
            f.write(text)

    def start(self, wait=True):
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, MIPV6D, "--config", self.config],
                stdout=log, stderr=subprocess.STDOUT)
        _started_processes.append(self.process)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("mipv6d %s exited with %d while starting:\n%s" %
                                     (self.name, self.process.returncode, self.log()))
            if os.path.exists(self.socket):
                done = subprocess.run([MIPV6CTL, "--socket", self.socket, "--json", "show",
                                       "stats"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, timeout=5)
                if done.returncode == 0:
                    return
            time.sleep(0.02)
        raise AssertionError("mipv6d %s not answering on %s after %ds:\n%s" %
                             (self.name, self.socket, timeout, self.log()))

    def ctl(self, *args, check=True):
        """mipv6ctl --json ARGS; returns the result object (the "result" of the response)."""
        done = subprocess.run([MIPV6CTL, "--socket", self.socket, "--json"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=10)
        if check and done.returncode != 0:
            raise AssertionError("mipv6ctl %s failed (%d): %s%s\nlog:\n%s" %
                                 (" ".join(args), done.returncode, done.stdout, done.stderr,
                                  self.log()))
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            raise AssertionError("mipv6ctl %s printed no JSON: %r" % (" ".join(args),
                                                                      done.stdout))
        if isinstance(answer, dict) and "ok" in answer and ("result" in answer or
                                                            "error" in answer):
            if check and not answer["ok"]:
                raise AssertionError("mipv6ctl %s: %s" % (" ".join(args), answer))
            return answer.get("result", answer)
        return answer

    def stats(self, role):
        return self.ctl("show", "stats")[role]

    def bindings(self):
        return self.ctl("show", "bc")["bindings"]

    def signal(self, signum):
        self.process.send_signal(signum)

    def stop(self, timeout=10):
        """SIGTERM; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("mipv6d %s did not exit within %ds of SIGTERM:\n%s" %
                                 (self.name, timeout, self.log()))

    def kill9(self):
        self.process.kill()
        self.process.wait()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return "<no log>"


class NamespaceTestCase(unittest.TestCase):
    """Creates namespaces per test; removes them, and prints the daemons' logs on failure."""

    def setUp(self):
        skip_unless_ready()
        self.workdir = tempfile.mkdtemp(prefix="mipv6d-test-")
        self.daemons = []
        self.namespaces = []
        self.ports = []

    def tearDown(self):
        failed = self._failed()
        for port in self.ports:
            port.close()
        for daemon in self.daemons:
            if daemon.running():
                daemon.kill9()
            if failed:
                sys.stderr.write("\n----- log of mipv6d %s (%s) -----\n%s\n" %
                                 (daemon.name, daemon.ns, daemon.log()))
        for full in self.namespaces:
            remove_namespace(full)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return True
        result = getattr(outcome, "result", None)
        if result is not None:
            for _test, text in result.failures + result.errors:
                if _test is self:
                    return True
        errors = getattr(outcome, "errors", None)
        if errors:
            return any(exc is not None for _test, exc in errors)
        return not getattr(outcome, "success", True)

    def namespace(self, name):
        full = create_namespace(name)
        self.namespaces.append(full)
        return full

    def new_daemon(self, ns, name, config_text):
        daemon = Daemon(ns, self.workdir, name, config_text)
        self.daemons.append(daemon)
        return daemon

    def open_port(self, ns, ifname):
        port = PeerPort(ns, ifname)
        self.ports.append(port)
        return port

    def assertNoTraces(self, ns, daemon=None):
        found = traces(ns)
        self.assertEqual(found, [], "mipv6d left these in %s:\n%s\n%s" %
                         (ns, "\n".join(found), daemon.log() if daemon else ""))

    def assertSnapshotEqual(self, before, after, ignore=None, daemon=None):
        diff = snapshot_diff(before, after, ignore)
        self.assertEqual(diff, {}, "kernel state changed after SIGTERM:\n%s\n%s" %
                         (json.dumps(diff, indent=1), daemon.log() if daemon else ""))


# ---------------------------------------------------------------------------------------------
# The scapy peer: an AF_PACKET socket inside the peer namespace

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class PeerPort:
    """Sends Ethernet frames on an interface of a namespace and captures what arrives there."""

    def __init__(self, ns, ifname):
        self.ns = ns
        self.ifname = ifname
        with in_netns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        self.mac = json.loads(run("ip", "-n", ns, "-j", "link", "show", "dev",
                                  ifname))[0]["address"]
        self.seen = []

    def close(self):
        self.sock.close()

    def send(self, frame):
        try:
            self.sock.send(bytes(frame))
        except OSError as error:
            # After the link went down, the socket reports ENETDOWN once; then it works again.
            if error.errno != errno.ENETDOWN:
                raise
            self.sock.send(bytes(frame))

    def drain(self):
        """Forgets what arrived so far."""
        while True:
            try:
                self.sock.recvfrom(65536)
            except BlockingIOError:
                return

    def expect(self, predicate, timeout=3.0, what="a packet"):
        """The first incoming IPv6 packet (scapy Ether) for which predicate(pkt) is true.
        Fails, listing what was seen, when none comes within `timeout`."""
        found = self.wait_for(predicate, timeout)
        if found is None:
            raise AssertionError("no %s on %s/%s within %.1fs; saw:\n%s" %
                                 (what, self.ns, self.ifname, timeout, self.describe_seen()))
        return found

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        self.seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                continue
            while True:
                try:
                    data, address = self.sock.recvfrom(65536)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                frame = Ether(data)
                if IPv6 not in frame:
                    continue
                self.seen.append(frame)
                try:
                    if predicate(frame):
                        return frame
                except Exception:  # a malformed capture is just not the one expected
                    continue

    def expect_none(self, predicate, timeout=1.0):
        """Returns the unwanted packet if one arrives within `timeout`, else None."""
        return self.wait_for(predicate, timeout)

    def describe_seen(self):
        if not self.seen:
            return "  (nothing)"
        return "\n".join("  " + frame.summary() + " " + bytes(frame[IPv6]).hex()[:160]
                         for frame in self.seen[-20:])


# ---------------------------------------------------------------------------------------------
# IPv6 packet parsing (independent of scapy's dissectors, so that every field is checked)


def addr_bytes(text):
    return ipaddress.IPv6Address(text).packed


def addr_text(raw):
    return str(ipaddress.IPv6Address(bytes(raw)))


class Parsed:
    """An IPv6 packet split into what the tests check."""

    def __init__(self, data):
        data = bytes(data)
        if len(data) < 40 or data[0] >> 4 != 6:
            raise ValueError("not IPv6")
        self.raw = data
        self.hop_limit = data[7]
        self.source = addr_text(data[8:24])
        self.destination = addr_text(data[24:40])
        self.payload_length = struct.unpack("!H", data[4:6])[0]
        self.home_address = None  # from a Home Address option
        self.rh2 = None  # (segments_left, address)
        self.headers = []
        next_header = data[6]
        offset = 40
        end = 40 + self.payload_length
        while next_header in (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING):
            length = (data[offset + 1] + 1) * 8
            header = data[offset:offset + length]
            self.headers.append(next_header)
            if next_header == IPPROTO_DSTOPTS:
                self._options(header)
            if next_header == IPPROTO_ROUTING:
                if header[2] == 2:
                    self.rh2 = (header[3], addr_text(header[8:24]), header[1])
            next_header = header[0]
            offset += length
        self.protocol = next_header
        self.upper = data[offset:end]

    def _options(self, header):
        i = 2
        while i < len(header):
            kind = header[i]
            if kind == 0:
                i += 1
                continue
            length = header[i + 1]
            if kind == 0xC9:
                self.home_address = addr_text(header[i + 2:i + 2 + 16])
            i += 2 + length

    @property
    def checksum_source(self):
        """RFC 6275 §6.3: the home address replaces the source in the pseudo-header."""
        return self.home_address or self.source

    @property
    def checksum_destination(self):
        """RFC 2460 §8.1: the final destination, the Type 2 header's address (§6.4)."""
        return self.rh2[1] if self.rh2 else self.destination


def parse(packet):
    """Parsed of a captured frame (scapy Ether) or of IPv6 packet bytes (an inner packet)."""
    if isinstance(packet, (bytes, bytearray)):
        return Parsed(packet)
    return Parsed(bytes(packet[IPv6]))


def pseudo_header_checksum(source, destination, protocol, upper):
    """RFC 2460 §8.1 checksum of `upper` (its checksum field already zeroed or not)."""
    pseudo = addr_bytes(source) + addr_bytes(destination) + struct.pack(
        "!IxxxB", len(upper), protocol)
    data = pseudo + bytes(upper)
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


_CHECKSUM_OFFSETS = {IPPROTO_MH: 4, IPPROTO_ICMPV6: 2, IPPROTO_UDP: 6}


def scapy_checksum(parsed):
    """The upper-layer checksum scapy computes for `parsed` (its in6_chksum follows a Home
    Address option and a Type 2 Routing header), over the bytes as received."""
    offset = _CHECKSUM_OFFSETS[parsed.protocol]
    layer = IPv6(parsed.raw)
    while isinstance(layer, IPv6) or type(layer).__name__.startswith("IPv6ExtHdr"):
        layer = layer.payload
    zeroed = parsed.upper[:offset] + b"\0\0" + parsed.upper[offset + 2:]
    return in6_chksum(parsed.protocol, layer, zeroed)


def checksum_valid(parsed):
    """True when the upper-layer checksum of `parsed` verifies, computed both here (RFC 2460
    §8.1 with the RFC 6275 §6.3 / §6.4 addresses) and by scapy."""
    own = pseudo_header_checksum(parsed.checksum_source, parsed.checksum_destination,
                                 parsed.protocol, parsed.upper) == 0
    if parsed.home_address is not None:
        # scapy's in6_pseudoheader sees a Home Address option only when it is the header's
        # sole option, never after the padding its 8n+6 alignment needs (RFC 6275 §6.3).
        return own
    offset = _CHECKSUM_OFFSETS[parsed.protocol]
    field = struct.unpack("!H", parsed.upper[offset:offset + 2])[0]
    return own and scapy_checksum(parsed) == field


# ---------------------------------------------------------------------------------------------
# Mobility Header (RFC 6275 §6.1), built and parsed by hand


def pad_to(offset, x, y):
    """Padding option bytes so that the next option starts at x*n+y (RFC 6275 §6.2)."""
    need = (y - offset) % x
    if need == 0:
        return b""
    if need == 1:
        return b"\0"
    return bytes([OPT_PADN, need - 2]) + b"\0" * (need - 2)


def mobility_header(mh_type, body, options=b"", checksum=None, source=None,
                    destination=None, payload_proto=59, header_len=None):
    """A whole MH (RFC 6275 §6.1.1): padded to 8 octets, checksum over the pseudo-header of
    (source, destination) unless `checksum` is given."""
    message = bytes([payload_proto, 0, mh_type, 0, 0, 0]) + body + options
    if len(message) % 8:
        pad = 8 - len(message) % 8
        message += b"\0" if pad == 1 else bytes([OPT_PADN, pad - 2]) + b"\0" * (pad - 2)
    length = len(message) // 8 - 1 if header_len is None else header_len
    message = message[:1] + bytes([length]) + message[2:]
    if checksum is None:
        checksum = pseudo_header_checksum(source, destination, IPPROTO_MH, message)
    return message[:4] + struct.pack("!H", checksum) + message[6:]


def binding_update(sequence, flags, lifetime_units, alternate_care_of=None, nonce_indices=None,
                   authenticator_key=None, care_of=None, correspondent=None, source=None,
                   destination=None, checksum=None):
    """A Binding Update (§6.1.7). With `authenticator_key` (Kbm), a Binding Authorization Data
    option computed as §6.2.7 says is appended last."""
    body = struct.pack("!HBBH", sequence, flags, 0, lifetime_units)
    options = b""
    offset = 12
    if alternate_care_of:
        options += pad_to(offset, 8, 6)  # §6.2.5: 8n+6
        options += bytes([OPT_ALT_COA, 16]) + addr_bytes(alternate_care_of)
        offset = 12 + len(options)
    if nonce_indices:
        options += pad_to(offset, 2, 0)  # §6.2.6: 2n
        options += bytes([OPT_NONCE_INDICES, 4]) + struct.pack("!HH", *nonce_indices)
        offset = 12 + len(options)
    if authenticator_key is None:
        return mobility_header(MH_BU, body, options, checksum, source, destination)
    options += pad_to(offset, 8, 2)  # §6.2.7: 8n+2
    options += bytes([OPT_BAD, 12]) + b"\0" * 12
    message = mobility_header(MH_BU, body, options, checksum=0)
    authenticator = binding_authenticator(authenticator_key, care_of, correspondent, message)
    message = message[:-12] + authenticator
    assert len(message) % 8 == 0
    if checksum is None:
        checksum = pseudo_header_checksum(source, destination, IPPROTO_MH, message)
    return message[:4] + struct.pack("!H", checksum) + message[6:]


def binding_authenticator(kbm, care_of, correspondent, message):
    """RFC 6275 §6.2.7: First(96, HMAC_SHA1(Kbm, care-of address | correspondent | MH Data)),
    MH Data = the MH up to the Authenticator, with the Checksum field zero."""
    data = bytes(message[:4]) + b"\0\0" + bytes(message[6:len(message) - 12])
    mac = hmac.new(kbm, addr_bytes(care_of) + addr_bytes(correspondent) + data, hashlib.sha1)
    return mac.digest()[:12]


def kbm(home_token, care_of_token=None):
    """RFC 6275 §5.2.5: Kbm = SHA1(home keygen token | care-of keygen token)."""
    return hashlib.sha1(home_token + (care_of_token or b"")).digest()


def init_message(mh_type, cookie, source, destination):
    """HoTI / CoTI (§6.1.3, §6.1.4): Reserved, then the 8-octet init cookie."""
    return mobility_header(mh_type, b"\0\0" + cookie, source=source, destination=destination)


class Mobility:
    """A received Mobility Header, decoded field by field."""

    def __init__(self, data):
        data = bytes(data)
        self.raw = data
        self.payload_proto = data[0]
        self.header_len = data[1]
        self.type = data[2]
        self.reserved = data[3]
        self.checksum = struct.unpack("!H", data[4:6])[0]
        self.options = []  # (type, value bytes)
        start = {MH_BA: 12, MH_BE: 24, MH_HOT: 24, MH_COT: 24, MH_BRR: 8, MH_BU: 12}.get(
            self.type, 6)
        if self.type == MH_BA:
            self.status = data[6]
            self.flags = data[7]
            self.sequence, self.lifetime_units = struct.unpack("!HH", data[8:12])
        elif self.type == MH_BU:
            self.sequence, self.flags, _reserved, self.lifetime_units = struct.unpack(
                "!HBBH", data[6:12])
        elif self.type == MH_BE:
            self.status = data[6]
            self.home_address = addr_text(data[8:24])
        elif self.type in (MH_HOT, MH_COT):
            self.nonce_index = struct.unpack("!H", data[6:8])[0]
            self.cookie = data[8:16]
            self.token = data[16:24]
        i = start
        end = (self.header_len + 1) * 8
        while i < end:
            kind = data[i]
            if kind == OPT_PAD1:
                i += 1
                continue
            length = data[i + 1]
            if kind != OPT_PADN:
                self.options.append((kind, data[i + 2:i + 2 + length], i))
            i += 2 + length

    def option(self, kind):
        for option_kind, value, _offset in self.options:
            if option_kind == kind:
                return value
        return None

    def __repr__(self):
        return "Mobility(%s)" % self.raw.hex()


def mobility(frame):
    """(Parsed, Mobility) of a frame carrying an MH, else None."""
    parsed = parse(frame)
    if parsed.protocol != IPPROTO_MH or len(parsed.upper) < 6:
        return None
    return parsed, Mobility(parsed.upper)


def is_mh(mh_type):
    def predicate(frame):
        found = mobility(frame)
        return found is not None and found[1].type == mh_type
    return predicate


# ---------------------------------------------------------------------------------------------
# Frames




def raw_ipv6(source, destination, next_header, payload, hop_limit=64, extension=b"",
             extension_type=IPPROTO_DSTOPTS):
    """An IPv6 packet as bytes: the header, `extension` (a header of type `extension_type`
    whose first octet already names the upper protocol) and the payload."""
    body = extension + payload
    first = extension_type if extension else next_header
    header = struct.pack("!IHBB", 6 << 28, len(body), first, hop_limit)
    return header + addr_bytes(source) + addr_bytes(destination) + body


def home_address_option_header(next_header, home_address):
    """A Destination Options header with only a Home Address option at 8n+6 (§6.3)."""
    return bytes([next_header, 2]) + bytes([OPT_PADN, 2, 0, 0]) + bytes([0xC9, 16]) + \
        addr_bytes(home_address)


def mh_packet(source, destination, mh, home_address=None):
    """An IPv6 packet (bytes) carrying `mh`, with a Home Address option when given."""
    extension = home_address_option_header(IPPROTO_MH, home_address) if home_address else b""
    return raw_ipv6(source, destination, IPPROTO_MH, mh, extension=extension)


def frame(src_mac, dst_mac, packet_bytes):
    return Ether(src=src_mac, dst=dst_mac, type=0x86DD) / Raw(packet_bytes)


def icmpv6(icmp_type, code, body, source, destination):
    """An ICMPv6 message (RFC 4443 §2.1) with its checksum over (source, destination): pass the
    home address as `source` when a Home Address option will carry it (RFC 6275 §6.3)."""
    message = bytes([icmp_type, code, 0, 0]) + bytes(body)
    checksum = pseudo_header_checksum(source, destination, IPPROTO_ICMPV6, message)
    return message[:2] + struct.pack("!H", checksum) + message[4:]


def solicited_node(address):
    raw = addr_bytes(address)
    """RFC 4291 §2.7.1: ff02::1:ffXX:XXXX with the address's low 24 bits."""
    return addr_text(bytes.fromhex("ff02" + "00" * 9 + "01ff") + raw[13:])


def multicast_mac(address):
    raw = addr_bytes(address)
    return "33:33:" + ":".join("%02x" % b for b in raw[12:])


def main():
    unittest.main(verbosity=2)
