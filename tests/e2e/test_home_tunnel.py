"""End-to-end: traffic to the home address follows the mobile node through its home agent's
tunnel while it is away, and flows directly again once it is back home (issue 6)."""

import json
import os
import subprocess
import unittest

import e2e_util
from e2e_util import CN_ADDRESS, HOME_ADDRESS


class HomeTunnelTest(e2e_util.LabTestCase):
    # Without route optimisation every packet to and from the home address while away goes
    # through the home agent (RFC 6275 §10.4.1, §11.3.1).
    overrides = {"nodes": {"mn": {"mipv6d": {"mobile_node": {"route_optimization": "never"}}}}}

    def own_advertisements(self, pcap):
        link = json.loads(self.lab.exec("mn", "ip", "-j", "link", "show", "dev", "eth0"))[0]
        out = subprocess.run(
            ["tshark", "-r", pcap, "-Y",
             f"icmpv6.type == 136 && icmpv6.nd.na.target_address == {HOME_ADDRESS} && "
             f"eth.src == {link['address']}", "-T", "fields", "-e", "frame.number"],
            capture_output=True, text=True, timeout=30, check=True).stdout
        return len(out.split())

    def ha_counter(self, name):
        return self.lab.ctl("ha", "show", "stats")["home_agent"][name]

    def test_1_ping_from_correspondent_reaches_home_address_through_tunnel_6275_10_4(self):
        self.move("a")
        care_of = self.wait_registered_on("a")
        self.assertEqual([b["care_of_address"] for b in self.ha_bindings()], [care_of])
        encapsulated = self.ha_counter("packets_encapsulated")
        reverse = self.ha_counter("reverse_tunnel_forwarded")
        answered = e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=10, interval=0.05)
        self.assertEqual(sorted(answered), list(range(10)), "echo replies while away")
        # Each request was tunnelled to the care-of address (§10.4.1) and each reply came back
        # through the reverse tunnel (§11.3.1).
        self.assertGreaterEqual(self.ha_counter("packets_encapsulated") - encapsulated, 10)
        self.assertGreaterEqual(self.ha_counter("reverse_tunnel_forwarded") - reverse, 10)

    def test_2_returning_home_removes_binding_and_proxy_and_traffic_flows_directly_6275_11_5_5(
            self):
        self.move("a")
        self.wait_registered_on("a")
        pcap = os.path.join(self.lab.run_dir, "home-link.pcapng")
        capture = self.lab.capture("home", pcap)
        try:
            self.move("home")
            self.wait_at_home()
        finally:
            e2e_util.m6lab.stop_capture(capture)
        # §11.5.5: back home, the mobile node multicasts a Neighbor Advertisement for its home
        # address itself, so that the home link's nodes stop using the home agent's proxy.
        self.assertGreaterEqual(self.own_advertisements(pcap), 1,
                                "no Neighbor Advertisement of the home address from the node")
        proxies = self.lab.exec("ha", "ip", "-6", "neigh", "show", "proxy")
        self.assertNotIn(HOME_ADDRESS, proxies, "the home agent still proxies the home address")
        encapsulated = self.ha_counter("packets_encapsulated")
        answered = e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=10, interval=0.05)
        self.assertEqual(sorted(answered), list(range(10)), "echo replies at home")
        self.assertEqual(self.ha_counter("packets_encapsulated"), encapsulated,
                         "packets to a node at home must not be tunnelled")
        addresses = self.lab.addresses("mn")
        self.assertIn(f"{HOME_ADDRESS}/64@eth0", addresses)
        self.assertEqual(e2e_util.ping(self.lab, "mn", CN_ADDRESS, count=3).keys(), {0, 1, 2})


if __name__ == "__main__":
    unittest.main()
