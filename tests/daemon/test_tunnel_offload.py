"""mipv6d's tunnel with GRO on the links (issue 8): TCP segments the kernel merged before a raw
socket got them (checksum left partial, longer than the link) must cross the tunnel intact.

A physical NIC does GRO by default, so on a real link the mobile node's and the home agent's
protocol-41 sockets receive merged TCP packets whose checksum field holds only the
pseudo-header sum. Written into the TUN as they are, the kernel would drop every one of them
(bad checksum, or longer than the MTU) and the stream would stall. The daemons hand them over
with a vnet header instead (linux_dp::offloaded_tcp_header): NEEDS_CSUM, and GSO to cut them
again where they are forwarded.

The topology and daemons are scripts/bench_daemon.py's (cn -- ha -- mn, radvd, both daemons),
with GRO on the tunnel's two ends. A stream of known bytes goes cn -> home address (the home
agent tunnels it, the mobile node receives merged packets) and home address -> cn (reverse
tunnel: the home agent receives merged packets); both must arrive whole and unchanged, and the
daemons' counters must show merged packets were taken. Then both daemons stop and leave nothing.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import bench_daemon  # noqa: E402
from bench_daemon import CN_ADDRESS, HOME_ADDRESS  # noqa: E402

MIPV6D = os.environ.get("MIPV6D", "")
MIPV6CTL = os.environ.get("MIPV6CTL", "")
PORT = 5301
STREAM_BYTES = 24 << 20  # enough for GRO to merge thousands of segments

# A TCP sink: listens on argv[1], reads until the peer closes, prints the count and SHA-256.
SINK = """
import hashlib, socket, sys
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(1)
print("listening", flush=True)
server.settimeout(30)
conn, _ = server.accept()
conn.settimeout(30)
digest, total = hashlib.sha256(), 0
while True:
    chunk = conn.recv(1 << 16)
    if not chunk:
        break
    digest.update(chunk)
    total += len(chunk)
print(total, digest.hexdigest(), flush=True)
"""

# The bytes sent: they differ from segment to segment, so a swapped or repeated one shows.
STREAM = """
def stream(length):
    block = bytes(range(256)) * 16
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += counter.to_bytes(8, "big") + block[:4088]
        counter += 1
    return bytes(out[:length])
"""
exec(STREAM)

# A TCP source: connects from argv[1] to argv[2] port argv[3], sends argv[4] octets, closes.
SOURCE = STREAM + """
import socket, sys
client = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
client.settimeout(30)
client.bind((sys.argv[1], 0))
client.connect((sys.argv[2], int(sys.argv[3])))
client.sendall(stream(int(sys.argv[4])))
client.close()
"""


def wait_until_file_says(path, word, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                if word in f.read():
                    return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not say {word!r} within {timeout} s")


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets, NFQUEUE, ip6tables)"
    for name, path in (("MIPV6D", MIPV6D), ("MIPV6CTL", MIPV6CTL)):
        if not path or not os.access(path, os.X_OK):
            return f"{name} is not set to an executable ({path!r})"
    if subprocess.run(["which", "ethtool"], capture_output=True).returncode != 0:
        return "ethtool is not installed (scripts/setup.sh installs it)"
    return None


class TunnelTestCase(unittest.TestCase):
    """Shared by the tunnel's data-path tests (also test_tunnel_output.py): a stream of known
    bytes through the lab of scripts/bench_daemon.py, and the daemons' counters."""

    def setUp(self):
        reason = skip_reason()
        if reason:
            self.skipTest(reason)
        # The harness wants the directory holding mipv6d/mipv6d and mipv6ctl/mipv6ctl.
        self.bin_dir = os.path.dirname(os.path.dirname(MIPV6D))
        self.assertEqual(os.path.dirname(os.path.dirname(MIPV6CTL)), self.bin_dir)

    def transfer(self, lab, sender, source, receiver, destination):
        sink = lab.spawn("sink", receiver, sys.executable, "-c", SINK, destination, str(PORT),
                         log_path=os.path.join(lab.tmp, f"sink-{receiver}.log"))
        log = os.path.join(lab.tmp, f"sink-{receiver}.log")
        wait_until_file_says(log, "listening", timeout=10)
        done = subprocess.run(
            ["ip", "netns", "exec", lab.ns[sender], sys.executable, "-c", SOURCE, source,
             destination, str(PORT), str(STREAM_BYTES)],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, f"the source failed: {done.stderr.strip()}")
        sink.wait(timeout=60)
        with open(log) as f:
            result = f.read().split()
        expected = hashlib.sha256(stream(STREAM_BYTES)).hexdigest()
        self.assertEqual(result[1:], [str(STREAM_BYTES), expected],
                         f"{sender} -> {receiver}: the stream arrived changed or cut short")

    def counter(self, daemons, role, section, name):
        stats = daemons.ctl(role, "show", "stats")
        return stats.get("result", stats)[section][name]


class TunnelOffloadTest(TunnelTestCase):
    def test_tcp_merged_by_gro_crosses_the_tunnel_whole_both_ways_rfc2473_3(self):
        problems = []
        with tempfile.TemporaryDirectory(prefix="mipv6o-") as tmp:
            with bench_daemon.registered_tunnel(tmp, self.bin_dir, problems, gro=True) as (
                    lab, daemons):
                # §10.4.1 / RFC 2473 §3: cn -> home address, through the home agent's tunnel.
                self.transfer(lab, "cn", CN_ADDRESS, "mn", HOME_ADDRESS)
                merged_at_mn = self.counter(daemons, "mn", "mobile_node", "tunnelled_gro_packets")
                # §11.3.1: home address -> cn, through the reverse tunnel.
                self.transfer(lab, "mn", HOME_ADDRESS, "cn", CN_ADDRESS)
                merged_at_ha = self.counter(daemons, "ha", "home_agent",
                                            "reverse_tunnel_gro_packets")
        self.assertEqual(problems, [], "the daemons did not stop cleanly")
        # Without merged packets the test would prove nothing: GRO must have happened.
        self.assertGreater(merged_at_mn, 0, "no GRO-merged packet reached the mobile node")
        self.assertGreater(merged_at_ha, 0, "no GRO-merged packet reached the home agent")


if __name__ == "__main__":
    unittest.main()
