"""mipv6-lab's engine: a Mobile IPv6 network of network namespaces, radvd and real mipv6d daemons.

The topology file (TOML, docs/mipv6-lab.md) names links and nodes. Every node is a network
namespace "<prefix>-<node>"; every link is a Linux bridge in the switch namespace
"<prefix>-sw"; every interface of a node is a veth whose peer sits in the switch namespace,
enslaved to its link's bridge. Moving the mobile node re-enslaves its peer to another bridge
with the peer down around it, so the node sees carrier go down and up: a real link event.

What a lab created is recorded in <run_dir>/state.json *before* it is created, so that
`down` removes everything, also after a crash or a failed `up`.
"""

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib

DEFAULT_RUN_DIR = "/run/mipv6-lab"
LAB_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TOPOLOGY = os.path.join(LAB_DIR, "topologies", "default.toml")
# Cable unplugged this long during a move: more than the kernel's 1 s linkwatch rate limit.
DEFAULT_CARRIER_GAP = 1.1
NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")


class LabError(Exception):
    """A command failed or the lab is not in the state asked for."""


class LabConflict(LabError):
    """`up` found another lab in its way; it created nothing, so there is nothing to remove."""


def run(*command, check=True, timeout=30, ns=None):
    argv = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in command]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns something true; its value, or LabError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def deep_merge(base, extra):
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_topology(path, overrides=None):
    with open(path, "rb") as f:
        topology = tomllib.load(f)
    topology = deep_merge(topology, overrides or {})
    check_topology(topology, path)
    return topology


def check_topology(topology, path):
    lab = topology.get("lab", {})
    links = topology.get("links", {})
    nodes = topology.get("nodes", {})
    for name, node in nodes.items():
        if not NODE_NAME.match(name) or name == "sw":
            raise LabError(f"{path}: node name {name!r}: 1-8 of [a-z0-9], not 'sw'")
        for interface in node.get("interfaces", []):
            if interface.get("link") not in links:
                raise LabError(f"{path}: nodes.{name}: unknown link {interface.get('link')!r}")
            if len(f"{name}-{interface['name']}") > 15:
                raise LabError(f"{path}: nodes.{name}: interface name {interface['name']!r} "
                               "too long")
    mobile = lab.get("mobile_node")
    if mobile is not None and (mobile not in nodes or not nodes[mobile].get("interfaces")):
        raise LabError(f"{path}: lab.mobile_node {mobile!r} is not a node with an interface")


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise LabError(f"cannot write {value!r} as TOML")


def toml_text(tables):
    """A mipv6d configuration: {section: {key: value}} as TOML."""
    lines = []
    for section, keys in tables.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
        lines.append("")
    return "\n".join(lines)


def radvd_stanza(interface, kind, address, ra_min, ra_max, preference=0):
    """One radvd interface block. The Advertisement Interval option (RFC 6275 §7.3) lets the
    mobile node detect the loss of its router quickly (§11.5.1), and it switches radvd to its
    Mobile IPv6 limits, which accept sub-second intervals (radvd.conf(5), §7.5). The home
    agent's link also gets the H bit and the Home Agent Information option (§7.1, §7.4).
    radvd copies the prefix line into the Prefix field as written: with the R bit (§7.2) it
    is the router's whole address."""
    flags = ("  AdvHomeAgentFlag on;\n  AdvHomeAgentInfo on;\n"
             f"  HomeAgentPreference {preference};\n"
             "  HomeAgentLifetime 1800;\n" if kind == "home_agent" else "")
    return (f"interface {interface} {{\n  AdvSendAdvert on;\n"
            f"  MinRtrAdvInterval {ra_min};\n  MaxRtrAdvInterval {ra_max};\n"
            f"  MinDelayBetweenRAs {min(ra_min, 3)};\n  AdvIntervalOpt on;\n{flags}"
            f"  prefix {address} {{ AdvOnLink on; AdvAutonomous on; AdvRouterAddr on; }};\n"
            "};\n")


class Lab:
    """One lab: its topology, run directory and state file."""

    def __init__(self, run_dir=DEFAULT_RUN_DIR, topology_path=None, bin_dir=None,
                 overrides=None, binaries=None):
        self.run_dir = run_dir
        self.state_path = os.path.join(run_dir, "state.json")
        self.state = self.read_state()
        if topology_path is None:
            topology_path = self.state.get("topology_path", DEFAULT_TOPOLOGY)
        if overrides is None:
            overrides = self.state.get("overrides", {})
        self.topology_path = os.path.abspath(topology_path)
        self.overrides = overrides
        try:
            self.topology = load_topology(self.topology_path, overrides)
        except OSError:
            if not self.state:
                raise
            # The topology file of a lab that is up went away: `down` still works.
            self.topology = {"lab": {"prefix": self.state.get("prefix", "m6l")}}
        self.bin_dir = bin_dir
        # {"mipv6d": path, "mipv6ctl": path}: given, or found by find_binaries() at `up`.
        self.binaries = binaries or self.state.get("binaries", {})
        self.prefix = self.state.get("prefix") or self.topology.get("lab", {}).get("prefix",
                                                                                  "m6l")
        self.children = {}  # pid -> Popen of what this process started, reaped by down()

    # --- state --------------------------------------------------------------------------

    def read_state(self):
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def write_state(self):
        os.makedirs(self.run_dir, exist_ok=True)
        temporary = self.state_path + ".tmp"
        with open(temporary, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(temporary, self.state_path)

    def record(self, kind, item):
        self.state.setdefault(kind, [])
        if item not in self.state[kind]:
            self.state[kind].append(item)
        self.write_state()

    # --- names ----------------------------------------------------------------------------

    def ns(self, node):
        return f"{self.prefix}-{node}"

    @property
    def switch(self):
        return self.ns("sw")

    @staticmethod
    def bridge(link):
        return f"br-{link}"[:15]

    @staticmethod
    def port(node, interface):
        return f"{node}-{interface}"

    def owns_namespace(self, name):
        """"<prefix>-<node>": a namespace of this lab, also one a crash left unrecorded."""
        return re.match(rf"^{re.escape(self.prefix)}-[a-z][a-z0-9]*$", name) is not None

    def nodes(self):
        return self.topology.get("nodes", {})

    def mobile_node(self):
        return self.topology.get("lab", {}).get("mobile_node")

    def daemon_nodes(self):
        return [name for name, node in self.nodes().items() if "mipv6d" in node]

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def exec(self, node, *command, check=True, timeout=30):
        return run(*command, check=check, timeout=timeout, ns=self.ns(node))

    # --- up -------------------------------------------------------------------------------

    def up(self):
        if self.state.get("namespaces"):
            raise LabConflict(f"a lab is already up (state in {self.state_path}); "
                              "run `mipv6-lab down` first")
        self.prefix = self.topology.get("lab", {}).get("prefix", "m6l")
        taken = [n for n in list_namespaces() if self.owns_namespace(n)]
        if taken:
            raise LabConflict(f"namespaces {' '.join(taken)} exist: another lab with prefix "
                              f"{self.prefix!r} is up (another --run-dir?)")
        self.find_binaries()
        self.state = {"topology_path": self.topology_path, "overrides": self.overrides,
                      "binaries": self.binaries, "prefix": self.prefix, "namespaces": [],
                      "processes": [], "started": time.time()}
        self.write_state()
        self.add_namespace("sw")
        for link in self.topology.get("links", {}):
            self.add_bridge(link)
        for name, node in self.nodes().items():
            self.add_node(name, node)
        for name, node in self.nodes().items():
            self.add_routes(name, node)
        self.start_radvd()
        self.start_daemons()
        mobile = self.mobile_node()
        if mobile:
            self.state["attachment"] = self.nodes()[mobile]["interfaces"][0]["link"]
            self.write_state()

    def find_binaries(self):
        if all(os.access(self.binaries.get(b, ""), os.X_OK) for b in ("mipv6d", "mipv6ctl")):
            return
        candidates = [self.bin_dir] if self.bin_dir else [
            os.path.join(LAB_DIR, "..", "build", d, "apps") for d in ("dev", "release", "debug")]
        for directory in candidates:
            if directory and all(os.access(os.path.join(directory, b, b), os.X_OK)
                                 for b in ("mipv6d", "mipv6ctl")):
                self.binaries = {b: os.path.abspath(os.path.join(directory, b, b))
                                 for b in ("mipv6d", "mipv6ctl")}
                return
        raise LabError(f"mipv6d and mipv6ctl not found in {' or '.join(candidates)}: give "
                       "--bin-dir DIR (the build's apps directory, holding mipv6d/mipv6d "
                       "and mipv6ctl/mipv6ctl)")

    def binary(self, name):
        return self.binaries[name]

    def add_namespace(self, node):
        name = self.ns(node)
        self.record("namespaces", name)
        run("ip", "netns", "add", name)
        for key in ("all", "default"):
            # No DAD in the lab: addresses are usable at once (there are no duplicates), which
            # keeps handover measurements about Mobile IPv6 and not about RFC 4862's delay.
            run("sysctl", "-qw", f"net.ipv6.conf.{key}.accept_dad=0", ns=name)
        run("ip", "link", "set", "lo", "up", ns=name)

    def add_bridge(self, link):
        bridge = self.bridge(link)
        # No STP and no multicast snooping: ports forward at once, and Neighbor Discovery's
        # multicast reaches every port whatever MLD the nodes sent.
        run("ip", "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay",
            "0", "mcast_snooping", "0", ns=self.switch)
        run("sysctl", "-qw", f"net.ipv6.conf.{bridge}.disable_ipv6=1", ns=self.switch)
        run("ip", "link", "set", bridge, "up", ns=self.switch)

    def add_node(self, name, node):
        self.add_namespace(name)
        if node.get("forwarding"):
            self.exec(name, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for interface in node.get("interfaces", []):
            self.add_interface(name, interface)

    def add_interface(self, node, interface):
        device, port = interface["name"], self.port(node, interface["name"])
        run("ip", "link", "add", port, "netns", self.switch, "type", "veth", "peer", "name",
            device, "netns", self.ns(node))
        run("sysctl", "-qw", f"net.ipv6.conf.{port}.disable_ipv6=1", ns=self.switch)
        run("ip", "link", "set", port, "master", self.bridge(interface["link"]), "up",
            ns=self.switch)
        if "address" in interface:
            self.exec(node, "ip", "-6", "addr", "add", interface["address"], "dev", device,
                      "nodad")
        self.exec(node, "ip", "link", "set", device, "up")

    def add_routes(self, name, node):
        for route in node.get("routes", []):
            self.wait_operational(name, self.route_device(name, node, route["via"]))
            self.exec(name, "ip", "-6", "route", "add", route["to"], "via", route["via"])

    def route_device(self, name, node, via):
        links = self.topology["links"]
        for interface in node.get("interfaces", []):
            if same_prefix(links[interface["link"]].get("prefix"), via):
                return interface["name"]
        raise LabError(f"nodes.{name}: no interface on the link of {via}")

    def wait_operational(self, node, device, timeout=5.0):
        # DESIGN.md §3: a veth carries nothing until the kernel made it operational.
        def up():
            links = json.loads(self.exec(node, "ip", "-j", "link", "show", "dev", device))
            return links and links[0].get("operstate") == "UP"
        wait_until(up, timeout, f"{device} in {self.ns(node)} to be operational")

    def spawn(self, label, node, command, log_name):
        with open(self.path(log_name), "w") as out:
            process = subprocess.Popen(["ip", "netns", "exec", self.ns(node), *command],
                                       stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        # `ip netns exec` execs the command, so this pid is the command's own.
        self.children[process.pid] = process
        self.record("processes", {"pid": process.pid, "label": label, "node": node})
        return process

    def start_radvd(self):
        lab = self.topology.get("lab", {})
        ra_min, ra_max = lab.get("ra_min_interval", 0.05), lab.get("ra_max_interval", 0.15)
        for name, node in self.nodes().items():
            stanzas = [radvd_stanza(i["name"], i["radvd"], i["address"], ra_min, ra_max,
                                    i.get("ha_preference", 0))
                       for i in node.get("interfaces", []) if i.get("radvd")]
            if not stanzas:
                continue
            config = self.path(f"radvd-{name}.conf")
            with open(config, "w") as f:
                f.write("".join(stanzas))
            process = self.spawn(f"radvd ({name})", name,
                                 ["radvd", "--nodaemon", "--config", config, "--pidfile",
                                  self.path(f"radvd-{name}.pid"), "--logmethod", "stderr"],
                                 f"radvd-{name}.log")
            time.sleep(0.1)
            if process.poll() is not None:
                raise LabError(f"radvd in {self.ns(name)} exited {process.returncode}: "
                               f"see {self.path(f'radvd-{name}.log')}")

    def daemon_config(self, name):
        tables = copy.deepcopy(self.nodes()[name]["mipv6d"])
        tables.setdefault("node", {})
        tables["node"].setdefault("log_level", "info")
        tables["node"]["control_socket"] = self.socket(name)
        tables["node"]["state_file"] = self.path(f"mipv6d-{name}.state")
        tables.setdefault("security", {"signalling": "none"})
        order = ["node"] + [s for s in tables if s not in ("node", "security")] + ["security"]
        return toml_text({section: tables[section] for section in order})

    def socket(self, name):
        return self.path(f"mipv6d-{name}.sock")

    def start_daemons(self):
        for name in self.daemon_nodes():
            self.start_daemon(name)

    def start_daemon(self, name):
        config = self.path(f"mipv6d-{name}.toml")
        with open(config, "w") as f:
            f.write(self.daemon_config(name))
        run(self.binary("mipv6d"), "--check", "--config", config)
        process = self.spawn(f"mipv6d ({name})", name,
                             [self.binary("mipv6d"), "--config", config],
                             f"mipv6d-{name}.log")

        def ready():
            if process.poll() is not None:
                raise LabError(f"mipv6d in {self.ns(name)} exited {process.returncode}: see "
                               f"{self.path(f'mipv6d-{name}.log')}")
            return os.path.exists(self.socket(name))
        wait_until(ready, 10, f"mipv6d in {self.ns(name)} to open its control socket")

    # --- operations -----------------------------------------------------------------------

    def require_up(self):
        if not self.state.get("namespaces"):
            raise LabError(f"no lab is up (no state in {self.state_path})")

    def ctl(self, node, *args):
        """mipv6ctl --json against the daemon of `node`: its result object."""
        out = self.exec(node, self.binary("mipv6ctl"), "--socket", self.socket(node), "--json",
                        *args)
        answer = json.loads(out)
        return answer.get("result", answer) if isinstance(answer, dict) else answer

    def ctl_text(self, node, *args):
        return self.exec(node, self.binary("mipv6ctl"), "--socket", self.socket(node), *args,
                         check=False)

    def attachment(self):
        mobile = self.mobile_node()
        interface = self.nodes()[mobile]["interfaces"][0]["name"]
        port = self.port(mobile, interface)
        links = json.loads(run("ip", "-j", "link", "show", "dev", port, ns=self.switch))
        master = links[0].get("master", "") if links else ""
        for link in self.topology.get("links", {}):
            if self.bridge(link) == master:
                return link
        return None

    def move(self, node, link, carrier_gap=DEFAULT_CARRIER_GAP):
        """Re-attaches `node`'s first interface to `link`: carrier down, re-enslave, carrier up
        (the node sees a real link change, RFC 6275 §11.5.1). Returns the monotonic time of the
        carrier coming up on the new link. The kernel's linkwatch handles a carrier change
        less than 1 s after the previous one only when that second is over, and until then
        the interface stays dormant (no operstate UP, no qdisc): with a shorter gap a move
        costs ~0.9 s of kernel delay before Mobile IPv6 can do anything."""
        self.require_up()
        if link not in self.topology.get("links", {}):
            raise LabError(f"unknown link {link!r}")
        interface = self.nodes()[node]["interfaces"][0]["name"]
        port = self.port(node, interface)
        run("ip", "link", "set", port, "down", ns=self.switch)
        run("ip", "link", "set", port, "nomaster", ns=self.switch)
        time.sleep(carrier_gap)
        run("ip", "link", "set", port, "master", self.bridge(link), ns=self.switch)
        run("ip", "link", "set", port, "up", ns=self.switch)
        attached = time.monotonic()
        if node == self.mobile_node():
            self.state["attachment"] = link
            self.write_state()
        return attached

    def capture(self, link, out, duration=None):
        """dumpcap on the link's bridge. The bridge in promiscuous mode (dumpcap's default)
        also receives the unicast frames it forwards between ports, so this sees the whole
        link. Returns the Popen once dumpcap is capturing."""
        if link not in self.topology.get("links", {}):
            raise LabError(f"unknown link {link!r}")
        return start_capture(self.switch, self.bridge(link), out, duration)

    # --- status ---------------------------------------------------------------------------

    def status(self):
        lines = [f"lab up since {time.ctime(self.state.get('started', 0))}; run directory "
                 f"{self.run_dir}; topology {self.topology_path}"]
        existing = set(list_namespaces())
        lines.append("namespaces: " + " ".join(
            f"{n}{'' if n in existing else ' (MISSING)'}" for n in self.state["namespaces"]))
        for link in self.topology.get("links", {}):
            ports = run("ip", "-br", "link", "show", "master", self.bridge(link),
                        ns=self.switch, check=False)
            names = [line.split()[0].split("@")[0] for line in ports.splitlines() if line]
            lines.append(f"link {link:8} {self.topology['links'][link].get('prefix', ''):20} "
                         f"ports: {' '.join(names)}")
        mobile = self.mobile_node()
        if mobile:
            lines.append(f"mobile node {mobile} attached to link {self.attachment()}")
            lines.append(f"  addresses: " + " ".join(self.addresses(mobile)))
        alive = {p["pid"]: p for p in self.state.get("processes", [])}
        for pid, process in alive.items():
            state = "running" if pid_alive(pid) else "NOT RUNNING"
            lines.append(f"process {process['label']:22} pid {pid:7} {state}")
        for name in self.daemon_nodes():
            for table in ("bc", "bul"):
                roles = self.nodes()[name]["mipv6d"]["node"]["roles"]
                if table == "bul" and "mobile_node" not in roles:
                    continue
                if table == "bc" and "mobile_node" in roles and len(roles) == 1:
                    continue
                lines.append(f"mipv6ctl show {table} ({name}):")
                lines += ["  " + line for line in self.ctl_text(name, "show", table).splitlines()]
        return "\n".join(lines)

    def addresses(self, node, scope="global"):
        out = json.loads(self.exec(node, "ip", "-j", "-6", "addr", "show", "scope", scope))
        return [f"{a['local']}/{a['prefixlen']}@{link['ifname']}" for link in out
                for a in link.get("addr_info", []) if "local" in a]

    # --- down -----------------------------------------------------------------------------

    def down(self):
        """Stops every process the lab started (SIGTERM, then SIGKILL) and deletes its
        namespaces: those in the state file and any "<prefix>-<node>" left by a crash."""
        problems = []
        processes = self.state.get("processes", [])
        for process in reversed(processes):
            stop_pid(process["pid"], problems, process["label"])
        for child in self.children.values():
            child.wait()
        self.children.clear()
        names = set(self.state.get("namespaces", []))
        names |= {n for n in list_namespaces() if self.owns_namespace(n)}
        for name in sorted(names):
            for pid in namespace_pids(name):
                stop_pid(pid, problems, f"process {pid} in {name}")
            done = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True)
            if done.returncode != 0 and name in list_namespaces():
                problems.append(f"ip netns del {name}: {done.stderr.strip()}")
        self.state = {}
        self.remove_run_files()
        return problems

    def remove_run_files(self):
        """Every file of the run directory (configurations, logs, sockets, state); the
        directories of other labs inside it stay."""
        if not os.path.isdir(self.run_dir):
            return
        for entry in os.scandir(self.run_dir):
            if not entry.is_dir(follow_symlinks=False):
                os.remove(entry.path)
        if self.run_dir != DEFAULT_RUN_DIR and not os.listdir(self.run_dir):
            os.rmdir(self.run_dir)


def same_prefix(prefix, address):
    import ipaddress
    if not prefix:
        return False
    return ipaddress.IPv6Address(address) in ipaddress.IPv6Network(prefix, strict=False)


def start_capture(namespace, device, out, duration=None, timeout=10.0):
    """dumpcap on `device` in `namespace` into `out`; returns the Popen once dumpcap said it
    is capturing (its "File:" line), so that nothing sent afterwards is missed."""
    command = ["ip", "netns", "exec", namespace, "dumpcap", "-i", device, "-w",
               os.path.abspath(out)]
    if duration:
        command += ["-a", f"duration:{duration}"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line.strip())
        if line.startswith("File:"):
            return process
    process.kill()
    process.wait()
    raise LabError(f"dumpcap on {device} in {namespace} did not start: {' '.join(seen)}")


def stop_capture(process, timeout=10.0, settle=0.5):
    """SIGINT lets dumpcap write out what it holds and close the file. Frames still in the
    kernel's capture ring, in a block libpcap has not been woken for yet, would be lost: they
    are handed over at the latest after the block timeout, which `settle` waits out."""
    if process.poll() is None:
        time.sleep(settle)
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr:
        process.stderr.close()


def list_namespaces():
    out = run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def namespace_pids(name):
    out = run("ip", "netns", "pids", name, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid, problems, label, timeout=10.0):
    """SIGTERM (mipv6d then removes what it installed), SIGKILL after `timeout`."""
    if not pid_alive(pid):
        reap(pid)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    problems.append(f"{label} ignored SIGTERM for {timeout:.0f} s; killed")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    reap(pid)


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def ensure_root(what):
    if os.geteuid() != 0:
        print(f"mipv6-lab: {what} needs root (network namespaces, raw sockets, NFQUEUE, "
              "ip6tables)", file=sys.stderr)
        sys.exit(1)


def missing_tools():
    return [t for t in ("ip", "radvd", "sysctl", "ip6tables-legacy")
            if shutil.which(t) is None and not os.path.exists(f"/usr/sbin/{t}")]
