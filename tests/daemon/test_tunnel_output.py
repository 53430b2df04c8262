"""The home agent's direct tunnel output (issue 8, home_agent.direct_tunnel_output): packets
tunnelled to the care-of address go straight to the next hop the kernel's tables name, through
a packet socket, and the stream still arrives whole — also while the kernel's neighbour entry
for the care-of address is flushed again and again under it (the daemon falls back to the
kernel's output, which resolves the address again, RFC 4861 §7.2.2). Turned off, every tunnel
packet goes through the kernel's IPv6 output and none directly.

The topology and daemons are scripts/bench_daemon.py's (cn -- ha -- mn, radvd, both daemons);
the stream and its check are test_tunnel_offload.py's.
"""

import os
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import bench_daemon  # noqa: E402
from bench_daemon import CN_ADDRESS, HOME_ADDRESS  # noqa: E402
import test_tunnel_offload  # noqa: E402


class TunnelOutputTest(test_tunnel_offload.TunnelTestCase):
    def run_stream(self, direct, while_streaming=None, seconds=0):
        """cn -> home address through the tunnel (streams one after the other for at least
        `seconds`); the home agent's counters afterwards."""
        problems = []
        with tempfile.TemporaryDirectory(prefix="mipv6d-out-") as tmp:
            with bench_daemon.registered_tunnel(tmp, self.bin_dir, problems,
                                                direct_tunnel_output=direct) as (lab, daemons):
                stop = threading.Event()
                helper = None
                if while_streaming:
                    helper = threading.Thread(target=while_streaming, args=(lab, stop))
                    helper.start()
                try:
                    started = time.monotonic()
                    self.transfer(lab, "cn", CN_ADDRESS, "mn", HOME_ADDRESS)
                    while time.monotonic() - started < seconds:
                        self.transfer(lab, "cn", CN_ADDRESS, "mn", HOME_ADDRESS)
                finally:
                    stop.set()
                    if helper:
                        helper.join()
                counters = {
                    "direct": self.counter(daemons, "ha", "daemon", "packets_sent_direct"),
                    "tunnelled": self.counter(daemons, "ha", "home_agent",
                                              "packets_encapsulated"),
                }
        self.assertEqual(problems, [], "the daemons did not stop cleanly")
        return counters

    def test_tunnel_packets_go_straight_to_the_next_hop_rfc2473_3(self):
        counters = self.run_stream(direct=True)
        self.assertGreater(counters["tunnelled"], 10000)
        # All but the few sent while a neighbour entry was being confirmed.
        self.assertGreater(counters["direct"], counters["tunnelled"] * 0.9, counters)

    def test_stream_survives_the_neighbour_entry_being_flushed_rfc4861_7_2_2(self):
        def flush_neighbours(lab, stop):
            while not stop.wait(0.2):
                lab.exec("ha", "ip", "-6", "neigh", "flush", "dev", "ha-mn", check=False)

        # Long enough for several flushes, each seen at the next refresh of the next hop (0.5 s).
        counters = self.run_stream(direct=True, while_streaming=flush_neighbours, seconds=3)
        # Both ways were taken: the kernel's output after a flush, and direct again after it had
        # resolved the address.
        self.assertGreater(counters["direct"], 0, counters)
        self.assertLess(counters["direct"], counters["tunnelled"], counters)

    def test_turned_off_every_tunnel_packet_goes_through_the_kernel(self):
        counters = self.run_stream(direct=False)
        self.assertGreater(counters["tunnelled"], 10000)
        self.assertEqual(counters["direct"], 0, counters)


if __name__ == "__main__":
    unittest.main()
