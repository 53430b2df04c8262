#!/usr/bin/python3
"""Benchmarks mipv6d's user-space data plane: the home agent's tunnel, CN -> HA -> MN (issue 8).

Four network namespaces "mipv6b-<pid>-*", always removed again, also on error or a signal:

    cn --------------------- ha ---------------------- mn
    2001:db8:3::2    2001:db8:3::1 | 2001:db8:2::1     2001:db8:2::100 (care-of address, static)
                                   | 2001:db8:1::1 (the home agent)
                                  home (the home link, 2001:db8:1::/64)

The ha namespace forwards between its links and runs radvd (Router Advertisements on the foreign
link, so that the mobile node sees where it is; H-bit advertisements on the home link) and
mipv6d with the home_agent role; mn runs mipv6d with the mobile_node role, home address
2001:db8:1::100/64, home agent 2001:db8:1::1, route optimization never. Once `mipv6ctl show bul`
says the home address is registered, iperf3 measures, each in the same run:

  - TCP from cn to the home address (through the HA's tunnel, both ways) against TCP from cn
    to the care-of address (plainly routed by the same HA);
  - 64-byte UDP datagrams (iperf3 -u -l 64 -b 0) to the home address against the same to the
    care-of address: datagrams per second that reached the mobile node.

Each figure is the median of --repeats runs, tunnelled and plain runs alternating: on two
shared cores one plain TCP run can differ from the next by a quarter.

Prints the BENCH lines of DESIGN.md §5 (and writes them to --bench-out for the summary of
scripts/bench.sh); as evidence of what carried the traffic and where it was lost, the daemons'
tunnel counters, the kernel's counters of their TUN devices and the receive-buffer drops of the
raw sockets; then stops both daemons with SIGTERM and checks that they exit 0 and leave nothing
behind (rules, routes, TUN devices, ip6tables rules, sysctls). Without root, iperf3, radvd or
the binaries it prints one SKIP line saying why, no BENCH line, and exits 0. Exit status 1 when
a measurement failed (its BENCH lines say ERROR) or a daemon misbehaved.

Usage: scripts/bench_daemon.py [--bin-dir build/release/apps] [--seconds 5] [--repeats 3]
                               [--bench-out FILE] [--log-dir DIR]
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_harness import BenchError, make_log, run, run_bench  # noqa: E402

HOME_PREFIX, HOME_ADDRESS, HA_HOME = "2001:db8:1::/64", "2001:db8:1::100", "2001:db8:1::1"
FOREIGN_ROUTER, CARE_OF = "2001:db8:2::1", "2001:db8:2::100"
CN_ROUTER, CN_ADDRESS = "2001:db8:3::1", "2001:db8:3::2"
IPERF_PORT = 5201
# What mipv6d installs (src/daemon/role.h), looked for after it stopped.
DAEMON_RULE_PRIORITIES = ("1000:", "1001:", "1002:", "1003:")
DAEMON_TABLES = ("1091", "1092", "1093")
# The sysctls each mipv6d changes (docs/mipv6d.md), which must read as before once it stopped.
DAEMON_SYSCTLS = {
    "ha": ("net.ipv6.conf.ha-home.forwarding", "net.ipv6.conf.ha-home.proxy_ndp",
           "net.ipv6.neigh.ha-home.proxy_delay"),
    "mn": ("net.ipv6.conf.mn0.accept_ra", "net.ipv6.conf.mn0.optimistic_dad",
           "net.ipv6.conf.mn0.use_optimistic"),
}
TUNNEL_WORDS = ("tunnel", "encap", "decap", "tun_", "direct")


log = make_log("bench_daemon")



class Lab:
    """The namespaces, links, addresses and processes of one run; close() removes all of it."""

    def __init__(self, tmp):
        self.tmp = tmp
        prefix = f"mipv6b-{os.getpid()}"
        self.ns = {role: f"{prefix}-{role}" for role in ("cn", "ha", "mn", "home")}
        self.created = []
        self.processes = []  # (name, Popen), stopped newest first

    def exec(self, role, *command, check=True, timeout=30):
        return run("ip", "netns", "exec", self.ns[role], *command, check=check, timeout=timeout)

    def spawn(self, name, role, *command, log_path=None):
        out = open(log_path, "w") if log_path else subprocess.DEVNULL
        process = subprocess.Popen(["ip", "netns", "exec", self.ns[role], *command],
                                   stdout=out, stderr=subprocess.STDOUT)
        if log_path:
            out.close()
        self.processes.append((name, process))
        return process

    def build(self, gro=False):
        for role, name in self.ns.items():
            run("ip", "netns", "add", name)
            self.created.append(name)
            # No DAD anywhere: addresses are usable at once (the lab has no duplicates).
            for key in ("all", "default"):
                self.exec(role, "sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0")
            self.exec(role, "ip", "link", "set", "lo", "up")
        self.exec("ha", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        self.veth("cn", "cn0", "ha", "ha-cn")
        self.veth("mn", "mn0", "ha", "ha-mn")
        self.veth("home", "home0", "ha", "ha-home")
        self.address("cn", "cn0", CN_ADDRESS)
        self.address("ha", "ha-cn", CN_ROUTER)
        self.address("ha", "ha-mn", FOREIGN_ROUTER)
        self.address("ha", "ha-home", HA_HOME)
        self.address("mn", "mn0", CARE_OF)
        self.address("home", "home0", "2001:db8:1::2")
        for device, role in (("cn0", "cn"), ("mn0", "mn"), ("home0", "home"), ("ha-cn", "ha"),
                             ("ha-mn", "ha"), ("ha-home", "ha")):
            self.wait_operational(role, device)
        if gro:
            self.enable_gro()
        self.exec("cn", "ip", "-6", "route", "add", "default", "via", CN_ROUTER, "dev", "cn0")
        self.exec("mn", "ip", "-6", "route", "add", "default", "via", FOREIGN_ROUTER, "dev",
                  "mn0")
        self.exec("home", "ip", "-6", "route", "add", "default", "via", HA_HOME, "dev", "home0")

    def enable_gro(self):
        """GRO on the two ends of the tunnel (mn0, ha-mn), as a physical NIC has it by default,
        so that the daemons' raw sockets get TCP segments merged with the checksum left partial.
        veth runs GRO only in NAPI (on with GRO), only for a socket's packets when
        rx-udp-gro-forwarding is on, and merges only what queued up between two polls, which
        threaded NAPI lets happen (the sender no longer polls for the receiver)."""
        for role, device in (("mn", "mn0"), ("ha", "ha-mn")):
            self.exec(role, "ethtool", "-K", device, "gro", "on", "rx-udp-gro-forwarding", "on")
            self.exec(role, "sh", "-c", f"echo 1 > /sys/class/net/{device}/threaded")

    def veth(self, role_a, device_a, role_b, device_b):
        run("ip", "link", "add", device_a, "netns", self.ns[role_a], "type", "veth", "peer",
            "name", device_b, "netns", self.ns[role_b])
        self.exec(role_a, "ip", "link", "set", device_a, "up")
        self.exec(role_b, "ip", "link", "set", device_b, "up")

    def address(self, role, device, address):
        self.exec(role, "ip", "-6", "addr", "add", f"{address}/64", "dev", device, "nodad")

    def wait_operational(self, role, device, timeout=5.0):
        # DESIGN.md §3: a veth carries nothing until the kernel has made it operational.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            link = json.loads(self.exec(role, "ip", "-j", "link", "show", "dev", device))
            if link and link[0].get("operstate") == "UP":
                return
            time.sleep(0.02)
        raise BenchError(f"{device} in {self.ns[role]} never became operational")

    def stop_processes(self):
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log(f"{name} ignored SIGTERM for 5 s; killing it")
                    process.kill()
                    process.wait()
        self.processes.clear()

    def close(self):
        self.stop_processes()
        for name in reversed(self.created):
            run("ip", "netns", "del", name, check=False)
        self.created.clear()


# ICMPv6 Echo from inside a namespace (there is no ping binary here): exit 0 on a reply.
ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(0.5)
s.sendto(bytes([128, 0, 0, 0, 0x6d, 0x69, 0, 1]) + b"mipv6", (sys.argv[1], 0))
try:
    while True:
        data, _ = s.recvfrom(2048)
        if data[0] == 129 and data[4:6] == bytes([0x6d, 0x69]):
            sys.exit(0)
except OSError:
    sys.exit(1)
"""


def wait_reachable(lab, role, address, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["ip", "netns", "exec", lab.ns[role], sys.executable, "-c", ECHO,
                               address], capture_output=True, timeout=10)
        if done.returncode == 0:
            return
    raise BenchError(f"{address} is not reachable from {lab.ns[role]} within {timeout:.0f} s")


def radvd_config():
    # The foreign link: on-link prefix with the router's address (R bit, RFC 6275 §7.2) and the
    # Advertisement Interval option (§7.3) for movement detection; no SLAAC, so that the static
    # 2001:db8:2::100 stays the only care-of address. The home link: the H bit and Home Agent
    # Information (§7.1, §7.4), as a home link's router sends them. radvd puts the prefix line
    # into the Prefix field as written: with the R bit it must be the router's whole address.
    return f"""
interface ha-mn {{
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvIntervalOpt on;
  prefix {FOREIGN_ROUTER}/64 {{ AdvOnLink on; AdvAutonomous off; AdvRouterAddr on; }};
}};
interface ha-home {{
  AdvSendAdvert on;
  MinRtrAdvInterval 1;
  MaxRtrAdvInterval 3;
  AdvIntervalOpt on;
  AdvHomeAgentFlag on;
  AdvHomeAgentInfo on;
  HomeAgentPreference 0;
  HomeAgentLifetime 1800;
  prefix {HA_HOME}/64 {{ AdvOnLink on; AdvAutonomous on; AdvRouterAddr on; }};
}};
"""


def daemon_configs(tmp, direct_tunnel_output=True):
    common = 'log_level = "info"\n'
    ha = f"""[node]
roles = ["home_agent"]
control_socket = "{tmp}/ha.sock"
state_file = "{tmp}/ha.state"
{common}
[home_agent]
interface = "ha-home"
prefixes = ["{HOME_PREFIX}"]
direct_tunnel_output = {"true" if direct_tunnel_output else "false"}

[security]
signalling = "none"
"""
    mn = f"""[node]
roles = ["mobile_node"]
control_socket = "{tmp}/mn.sock"
state_file = "{tmp}/mn.state"
{common}
[mobile_node]
home_address = "{HOME_ADDRESS}/64"
home_agent = "{HA_HOME}"
interfaces = ["mn0"]
route_optimization = "never"

[security]
signalling = "none"
"""
    return {"ha": ha, "mn": mn}


class Daemons:
    """mipv6d in the ha and mn namespaces, and mipv6ctl to ask them."""

    def __init__(self, lab, bin_dir, direct_tunnel_output=True):
        self.lab = lab
        self.direct_tunnel_output = direct_tunnel_output
        self.mipv6d = os.path.join(bin_dir, "mipv6d", "mipv6d")
        self.mipv6ctl = os.path.join(bin_dir, "mipv6ctl", "mipv6ctl")
        self.processes = {}
        self.sysctls_before = {}

    def log_path(self, role):
        return os.path.join(self.lab.tmp, f"{role}.log")

    def start(self):
        self.sysctls_before = {role: sysctls(self.lab, role) for role in DAEMON_SYSCTLS}
        for role, text in daemon_configs(self.lab.tmp, self.direct_tunnel_output).items():
            path = os.path.join(self.lab.tmp, f"{role}.toml")
            with open(path, "w") as f:
                f.write(text)
            run(self.mipv6d, "--check", "--config", path)
            self.processes[role] = self.lab.spawn(f"mipv6d ({role})", role, self.mipv6d,
                                                  "--config", path, log_path=self.log_path(role))
            self.wait_socket(role)

    def wait_socket(self, role, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[role].poll() is not None:
                raise BenchError(f"mipv6d ({role}) exited {self.processes[role].returncode} "
                                 "while starting")
            if os.path.exists(os.path.join(self.lab.tmp, f"{role}.sock")):
                return
            time.sleep(0.05)
        raise BenchError(f"mipv6d ({role}) opened no control socket within {timeout:.0f} s")

    def ctl(self, role, *args, as_json=True):
        socket_path = os.path.join(self.lab.tmp, f"{role}.sock")
        command = [self.mipv6ctl, "--socket", socket_path] + (["--json"] if as_json else [])
        out = self.lab.exec(role, *command, *args)
        return json.loads(out) if as_json else out

    def wait_registered(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        bul = None
        while time.monotonic() < deadline:
            for role, process in self.processes.items():
                if process.poll() is not None:
                    raise BenchError(f"mipv6d ({role}) exited {process.returncode}")
            try:
                bul = self.ctl("mn", "show", "bul")
            except (BenchError, json.JSONDecodeError):
                bul = None
            if bul is not None and home_registered(bul):
                return bul
            time.sleep(0.1)
        raise BenchError(f"the home address was not registered within {timeout:.0f} s; "
                         f"last show bul: {json.dumps(bul)}")

    def stop(self):
        """SIGTERM to both daemons; returns the problems seen (exit status, leftovers)."""
        problems = []
        for role in ("mn", "ha"):
            process = self.processes.get(role)
            if process is None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                status = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                problems.append(f"mipv6d ({role}) did not exit within 10 s of SIGTERM")
                continue
            if status != 0:
                problems.append(f"mipv6d ({role}) exited {status} after SIGTERM")
            problems += leftovers(self.lab, role)
            after = sysctls(self.lab, role)
            problems += [f"mipv6d ({role}) left {key} = {after[key]} (was {value})"
                         for key, value in self.sysctls_before.get(role, {}).items()
                         if after.get(key) != value]
        return problems

    def tail_logs(self, lines=25):
        for role in self.processes:
            try:
                with open(self.log_path(role)) as f:
                    tail = f.readlines()[-lines:]
            except OSError:
                continue
            log(f"last lines of mipv6d ({role}):")
            for line in tail:
                print(f"  {line.rstrip()}")


def home_registered(bul):
    # src/daemon/mobile_node_role.cc: {"home_addresses": [{"home_address", "state", ...}],
    # "entries": [...]}; "registered" once the home agent acknowledged (RFC 6275 §11.7.3).
    bul = bul.get("result", bul) if isinstance(bul, dict) else {}
    return any(home.get("home_address") == HOME_ADDRESS and home.get("state") == "registered"
               for home in bul.get("home_addresses", []))


def sysctls(lab, role):
    return {key: lab.exec(role, "sysctl", "-n", key, check=False).strip()
            for key in DAEMON_SYSCTLS[role]}


def leftovers(lab, role):
    """What a stopped mipv6d left in its namespace (issue 8: no trace after SIGTERM)."""
    found = []
    rules = lab.exec(role, "ip", "-6", "rule", "show", check=False)
    found += [f"rule {line.strip()}" for line in rules.splitlines()
              if line.startswith(DAEMON_RULE_PRIORITIES)]
    for table in DAEMON_TABLES:
        routes = lab.exec(role, "ip", "-6", "route", "show", "table", table, check=False)
        found += [f"route {line.strip()} table {table}" for line in routes.splitlines()]
    links = json.loads(lab.exec(role, "ip", "-j", "link", "show", check=False) or "[]")
    found += [f"link {link['ifname']}" for link in links
              if link.get("ifname", "").startswith("mip6")]
    raw = lab.exec(role, "ip6tables-legacy", "-t", "raw", "-S", check=False)
    found += [f"ip6tables {line}" for line in raw.splitlines() if "mipv6d" in line]
    return [f"mipv6d ({role}) left {item}" for item in found]


def iperf(lab, address, seconds, udp=False):
    """One iperf3 run from cn to `address` (a server in mn bound to it); its JSON result."""
    server = lab.spawn(f"iperf3 server {address}", "mn", "iperf3", "--server", "--one-off",
                       "--bind", address, "--port", str(IPERF_PORT))
    wait_listening(lab, server, address)
    command = ["iperf3", "--client", address, "--port", str(IPERF_PORT), "--time", str(seconds),
               "--json", "--connect-timeout", "3000"]
    if udp:
        command += ["--udp", "--length", "64", "--bitrate", "0"]
    done = subprocess.run(["ip", "netns", "exec", lab.ns["cn"], *command], capture_output=True,
                          text=True, timeout=seconds + 30)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise BenchError(f"iperf3 to {address}: exit {done.returncode}: {done.stderr.strip()}")
    if "error" in result:
        raise BenchError(f"iperf3 to {address}: {result['error']}")
    return result


def wait_listening(lab, server, address, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"iperf3 server on {address} exited {server.returncode}")
        sockets = lab.exec("mn", "ss", "-Hltn", f"sport = :{IPERF_PORT}", check=False)
        if address in sockets:
            return
        time.sleep(0.05)
    raise BenchError(f"iperf3 server on {address} is not listening after {timeout:.0f} s")


def tcp_mbps(result):
    end = result["end"]
    mbps = end["sum_received"]["bits_per_second"] / 1e6
    log(f"  {mbps:.0f} Mbit/s received, {end['sum_sent'].get('retransmits', '?')} "
        f"retransmissions, sender CPU {end['cpu_utilization_percent']['host_total']:.0f}%")
    return mbps


def udp_pps(result):
    # What the server counted (the client's JSON carries it): datagrams sent minus those lost.
    end = result["end"]
    total = end.get("sum_received", end["sum"])
    received = total["packets"] - total["lost_packets"]
    pps = received / total["seconds"]
    log(f"  {pps:.0f} datagrams/s received of {end['sum_sent']['packets'] / total['seconds']:.0f}"
        f"/s sent")
    return pps


def measure(lab, seconds, repeats):
    """The tunnelled figures and their plain baselines: (TCP Mbit/s tunnelled, plain, UDP
    datagrams/s tunnelled, plain), each the median of `repeats` runs, plain and tunnelled runs
    alternating so that both see the same drift of the shared machine."""
    samples = {"tcp_plain": [], "tcp_tunnel": [], "pps_plain": [], "pps_tunnel": []}
    for run in range(1, repeats + 1):
        log(f"TCP {seconds} s to the care-of address {CARE_OF} (plainly routed by the HA), "
            f"run {run} of {repeats}")
        samples["tcp_plain"].append(tcp_mbps(iperf(lab, CARE_OF, seconds)))
        log(f"TCP {seconds} s to the home address {HOME_ADDRESS} (HA tunnel both ways), "
            f"run {run} of {repeats}")
        samples["tcp_tunnel"].append(tcp_mbps(iperf(lab, HOME_ADDRESS, seconds)))
    for run in range(1, repeats + 1):
        log(f"UDP 64-byte datagrams {seconds} s to {CARE_OF}, run {run} of {repeats}")
        samples["pps_plain"].append(udp_pps(iperf(lab, CARE_OF, seconds, udp=True)))
        log(f"UDP 64-byte datagrams {seconds} s to {HOME_ADDRESS}, run {run} of {repeats}")
        samples["pps_tunnel"].append(udp_pps(iperf(lab, HOME_ADDRESS, seconds, udp=True)))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return median["tcp_tunnel"], median["tcp_plain"], median["pps_tunnel"], median["pps_plain"]


def bench_lines(tcp_tunnel, tcp_plain, pps_tunnel, pps_plain):
    tcp_ratio = tcp_tunnel / tcp_plain if tcp_plain else 0.0
    pps_ratio = pps_tunnel / pps_plain if pps_plain else 0.0
    return [
        f"BENCH ha_tunnel_tcp_mbps {tcp_tunnel:.0f} Mbit/s baseline={tcp_plain:.0f} "
        f"ratio={tcp_ratio:.3f}",
        f"BENCH ha_tunnel_tcp_ratio {tcp_ratio:.3f} ratio",
        f"BENCH ha_tunnel_pps {pps_tunnel:.0f} 1/s baseline={pps_plain:.0f} ratio={pps_ratio:.3f}",
    ]


def error_lines(reason):
    reason = " ".join(str(reason).split())
    return [f"BENCH {name} ERROR {reason}" for name in
            ("ha_tunnel_tcp_mbps", "ha_tunnel_tcp_ratio", "ha_tunnel_pps")]


def print_tunnel_counters(daemons):
    for role in ("ha", "mn"):
        stats = daemons.ctl(role, "show", "stats")
        stats = stats.get("result", stats)
        shown = [(f"{section}.{key}", value)
                 for section, counters in stats.items() if isinstance(counters, dict)
                 for key, value in counters.items()
                 if any(word in key for word in TUNNEL_WORDS)]
        if not shown:
            log(f"mipv6d ({role}) show stats has no tunnel counter; all of it:")
            print(json.dumps(stats, indent=1, sort_keys=True))
            continue
        zero = sum(1 for _, value in shown if value == 0)
        log(f"mipv6d ({role}) tunnel counters: " +
            " ".join(f"{name}={value}" for name, value in shown if value != 0) +
            f" (and {zero} more at 0)")


def print_tun_drops(lab):
    """The kernel's counters of the daemons' TUN devices: where tunnelled packets were lost."""
    for role in ("ha", "mn"):
        links = json.loads(lab.exec(role, "ip", "-s", "-j", "link", "show", check=False) or "[]")
        for link in links:
            if not link.get("ifname", "").startswith("mip6"):
                continue
            stats = link.get("stats64", {})
            rx, tx = stats.get("rx", {}), stats.get("tx", {})
            log(f"{link['ifname']} in {role}: kernel -> daemon {tx.get('packets')} packets, "
                f"{tx.get('dropped')} dropped (queue full); daemon -> kernel {rx.get('packets')} "
                f"packets, {rx.get('dropped')} dropped")


def print_raw_socket_drops(lab):
    """Packets the kernel dropped because a raw socket's receive buffer was full
    (/proc/net/raw6, last column), by protocol: 41 is the tunnel, 135 the Mobility Header."""
    for role in ("ha", "mn"):
        table = lab.exec(role, "cat", "/proc/net/raw6", check=False).splitlines()[1:]
        drops = {}
        for row in table:
            fields = row.split()
            protocol = int(fields[1].rsplit(":", 1)[1], 16)
            drops[protocol] = drops.get(protocol, 0) + int(fields[-1])
        log(f"raw sockets in {role}, receive buffer drops by protocol: " +
            " ".join(f"{protocol}={count}" for protocol, count in sorted(drops.items())))


def skip_reason(bin_dir):
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets, NFQUEUE, ip6tables)"
    for tool in ("ip", "iperf3", "radvd", "ip6tables-legacy", "ss", "sysctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for binary in ("mipv6d/mipv6d", "mipv6ctl/mipv6ctl"):
        if not os.access(os.path.join(bin_dir, binary), os.X_OK):
            return f"{os.path.join(bin_dir, binary)} is not built"
    return None


def bench(bin_dir, seconds, repeats, log_dir=None):
    """Returns (BENCH lines, problems); problems make the exit status 1."""
    with tempfile.TemporaryDirectory(prefix="mipv6b-") as tmp:
        try:
            return bench_in(tmp, bin_dir, seconds, repeats)
        finally:
            if log_dir:
                keep_logs(tmp, log_dir)


def keep_logs(tmp, log_dir):
    os.makedirs(log_dir, exist_ok=True)
    for name in os.listdir(tmp):
        if name.endswith((".log", ".toml", ".conf")):
            shutil.copy(os.path.join(tmp, name), log_dir)


@contextlib.contextmanager
def registered_tunnel(tmp, bin_dir, problems, gro=False, direct_tunnel_output=True):
    """The lab up, radvd and both daemons running, the home address registered and reachable
    from cn through the tunnel: yields (lab, daemons). Afterwards the daemons are stopped and
    the lab removed; what went wrong on the way out is appended to `problems`."""
    lab = Lab(tmp)
    daemons = Daemons(lab, bin_dir, direct_tunnel_output)
    try:
        lab.build(gro=gro)
        wait_reachable(lab, "cn", CARE_OF)
        with open(os.path.join(tmp, "radvd.conf"), "w") as f:
            f.write(radvd_config())
        lab.spawn("radvd", "ha", "radvd", "--nodaemon", "--config", f"{tmp}/radvd.conf",
                  "--pidfile", f"{tmp}/radvd.pid", "--logmethod", "stderr",
                  log_path=f"{tmp}/radvd.log")
        daemons.start()
        started = time.monotonic()
        daemons.wait_registered()
        log(f"home address {HOME_ADDRESS} registered {time.monotonic() - started:.2f} s "
            "after the daemons started")
        wait_reachable(lab, "cn", HOME_ADDRESS)
        yield lab, daemons
    except BaseException:
        daemons.tail_logs()
        raise
    finally:
        problems += daemons.stop()
        lab.close()


def bench_in(tmp, bin_dir, seconds, repeats):
    """bench() in the temporary directory `tmp`."""
    problems = []
    try:
        with registered_tunnel(tmp, bin_dir, problems) as (lab, daemons):
            lines = bench_lines(*measure(lab, seconds, repeats))
            print_tunnel_counters(daemons)
            print_tun_drops(lab)
            print_raw_socket_drops(lab)
    except (BenchError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
        # ValueError/KeyError: an answer (iperf3's or mipv6ctl's JSON) without what it should hold.
        log(f"failed: {e!r}" if not isinstance(e, BenchError) else f"failed: {e}")
        lines, problems = error_lines(e), problems + [str(e)]
    return lines, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", default="build/release/apps",
                        help="where mipv6d/mipv6d and mipv6ctl/mipv6ctl are")
    parser.add_argument("--seconds", type=int, default=5, help="length of each iperf3 run")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each measurement; the figures are their medians")
    parser.add_argument("--bench-out", help="also write the BENCH lines to this file")
    parser.add_argument("--log-dir", help="keep the configurations and the daemons' and radvd's "
                        "logs in this directory")
    args = parser.parse_args()
    return run_bench("bench_daemon", lambda: bench(args.bin_dir, args.seconds, args.repeats, args.log_dir),
                     skip_reason(args.bin_dir), args.bench_out)


if __name__ == "__main__":
    sys.exit(main())
