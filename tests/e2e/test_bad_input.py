"""End-to-end: a burst of malformed Mobility Header packets and of Binding Updates for a home
address outside the home prefix, sent to the home agent while the mobile node is away with a
TCP connection open, leaves the binding and the connection intact; the daemon's counters
account for every packet (issue 6; RFC 6275 §9.2, §9.5.1, §10.3.1)."""

import json
import sys
import unittest

import e2e_util
from e2e_util import HOME_ADDRESS

HA = "2001:db8:1::1"
BURST = 20

# Mobility Header packets from a raw socket in the correspondent's namespace; the kernel fills
# the checksum (IPV6_CHECKSUM at offset 4 of the MH, §6.1.1). Payload Proto, Header Len, MH
# Type, Reserved, Checksum, then the message data.
SENDER = r"""
import socket, struct, sys
target, burst = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
s.setsockopt(socket.IPPROTO_IPV6, 7, 4)  # IPV6_CHECKSUM
def mh(proto, length_units, mh_type, data):
    return bytes([proto, length_units, mh_type, 0, 0, 0]) + data
packets = [
    # §9.2: an unknown MH Type (Binding Error status 2 expected, §9.3.3).
    mh(59, 0, 200, b"\0\0"),
    # §9.2: Header Len too small for a Binding Update (it needs 12 bytes at least).
    mh(59, 0, 5, b"\0\0"),
    # §9.2: Payload Proto other than 59 (ICMPv6 Parameter Problem expected).
    mh(6, 1, 5, struct.pack("!HBBH", 1, 0xc0, 0, 100) + b"\1\2\0\0"),
    # §10.3.1: a home registration without a Home Address option, from an address outside the
    # home prefix: rejected (BA status 132) -- a spoofing attempt must never create a binding.
    mh(59, 1, 5, struct.pack("!HBBH", 7, 0xc0, 0, 100) + b"\1\2\0\0"),
]
for _ in range(burst):
    for packet in packets:
        s.sendto(packet, (target, 0))
print(burst * len(packets))
"""


def drops(stats):
    counters = {f"{section}.{name}": value for section, values in stats.items()
                if isinstance(values, dict) for name, value in values.items()}
    return counters, sum(v for k, v in counters.items()
                         if k.split(".")[1].startswith(("dropped_", "ba_rejected")))


class BadInputTest(e2e_util.LabTestCase):
    overrides = {"nodes": {"mn": {"mipv6d": {"mobile_node": {"route_optimization": "never"}}}}}

    def test_malformed_and_foreign_signalling_leaves_binding_and_tcp_intact_6275_9_2(self):
        e2e_util.m6lab.wait_until(
            lambda: f"{HOME_ADDRESS}/64@eth0" in self.lab.addresses("mn"), 10,
            "the home address on the mobile node's interface")
        stream = e2e_util.CounterStream(self.lab, "cn", "mn", HOME_ADDRESS)
        try:
            stream.wait_progress()  # connected at home, before the move
            self.move("a")
            care_of = self.wait_registered_on("a")
            stream.wait_progress(timeout=15)
            binding = self.ha_bindings()
            before, dropped_before = drops(self.lab.ctl("ha", "show", "stats"))
            sent = int(self.lab.exec("cn", sys.executable, "-c", SENDER, HA, str(BURST)))
            stream.wait_progress()
            after, dropped_after = drops(self.lab.ctl("ha", "show", "stats"))
            client, server = stream.finish()
        finally:
            stream.kill()
        changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        sys.stderr.write(f"counters changed by the burst of {sent}: {json.dumps(changed)}\n")
        self.assertEqual(sent, 4 * BURST)
        self.assertEqual(changed.get("daemon.mh_received"), sent, changed)
        # Every packet has its counter: one drop reason each, or the rejecting BA.
        self.assertEqual(changed.get("home_agent.dropped_unknown_mh_type"), BURST, changed)
        self.assertEqual(changed.get("home_agent.dropped_bad_mh_field"), 2 * BURST, changed)
        self.assertEqual(changed.get("home_agent.ba_rejected"), BURST, changed)
        self.assertEqual(dropped_after - dropped_before, sent, changed)
        self.assertEqual(changed.get("home_agent.registrations", 0), 0, changed)
        after_binding = self.ha_bindings()
        self.assertEqual([(b["care_of_address"], b["sequence"]) for b in after_binding],
                         [(b["care_of_address"], b["sequence"]) for b in binding])
        self.assertEqual(after_binding[0]["care_of_address"], care_of)
        self.assertIsNone(client.get("error"), client)
        self.assertIsNone(server.get("error"), server)
        self.assertEqual(server["received"], client["sent"])


if __name__ == "__main__":
    unittest.main()
