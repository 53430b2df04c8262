"""End-to-end: after return routability the correspondent sends to the mobile node directly,
with a Type 2 Routing header, and the home agent's tunnel stops carrying that traffic (issue 6;
RFC 6275 §5.2, §6.4, §9.3.2, §11.7.2)."""

import os
import subprocess
import unittest

import e2e_util
from e2e_util import CN_ADDRESS, HOME_ADDRESS


class RouteOptimizationTest(e2e_util.LabTestCase):
    overrides = {"nodes": {"mn": {"mipv6d": {"mobile_node": {"route_optimization": "always"}}}}}

    def cn_binding(self):
        for binding in self.lab.ctl("cn", "show", "bc").get("bindings", []):
            if binding.get("home_address") == HOME_ADDRESS:
                return binding
        return None

    def ha_encapsulated(self):
        return self.lab.ctl("ha", "show", "stats")["home_agent"]["packets_encapsulated"]

    def test_correspondent_sends_with_type2_routing_header_and_tunnel_goes_quiet_6275_9_3_2(self):
        self.move("a")
        care_of = self.wait_registered_on("a")

        # Tunnelled traffic from the correspondent makes the mobile node start return
        # routability with it (§11.7.2); keep some flowing until the correspondent holds a
        # binding for the home address.
        def bound():
            e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=2, interval=0.05, wait=0.3)
            binding = self.cn_binding()
            return binding if binding and binding["care_of_address"] == care_of else None
        e2e_util.m6lab.wait_until(bound, 15, "a correspondent binding after return routability")

        pcap = os.path.join(self.lab.run_dir, "ro-mn.pcapng")
        capture = e2e_util.m6lab.start_capture(self.lab.ns("mn"), "eth0", pcap)
        try:
            encapsulated = self.ha_encapsulated()
            answered = e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=20, interval=0.05)
            tunnelled = self.ha_encapsulated() - encapsulated
        finally:
            e2e_util.m6lab.stop_capture(capture)
        self.assertEqual(sorted(answered), list(range(20)), "echo replies on the direct path")
        self.assertEqual(tunnelled, 0, "the home agent still tunnels the correspondent's packets")
        requests = self.echo_requests(pcap, care_of)
        self.assertEqual(sorted(requests), list(range(20)), "echo requests seen on the link")
        # §6.4: the correspondent's packet goes to the care-of address, the home address in the
        # Type 2 Routing header with Segments Left 1.
        for sequence, header in requests.items():
            self.assertEqual(header, ("2", "1", HOME_ADDRESS), f"echo request {sequence}")

    def echo_requests(self, pcap, care_of):
        out = subprocess.run(
            ["tshark", "-r", pcap, "-Y",
             f"icmpv6.type == 128 && ipv6.src == {CN_ADDRESS} && ipv6.dst == {care_of}",
             "-T", "fields", "-e", "ipv6.routing.type", "-e", "ipv6.routing.segleft",
             "-e", "ipv6.routing.mipv6.home_address", "-e", "icmpv6.echo.sequence_number"],
            capture_output=True, text=True, timeout=30, check=True).stdout
        # {echo sequence number: (routing type, segments left, home address)}
        rows = [line.split("\t") for line in out.splitlines() if line.strip()]
        return {int(row[3]): tuple(row[:3]) for row in rows}


if __name__ == "__main__":
    unittest.main()
