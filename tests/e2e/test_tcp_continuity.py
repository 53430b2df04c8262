"""End-to-end: one TCP connection from the correspondent to a server bound to the home address
survives three moves (home -> A -> B -> A) and returning home: no reset, every byte delivered in order (issue 6;
RFC 6275 §1: transport connections survive movement because the home address stays)."""

import sys
import time
import unittest

import e2e_util
from e2e_util import HOME_ADDRESS


class TcpContinuityTest(e2e_util.LabTestCase):
    overrides = {"nodes": {"mn": {"mipv6d": {"mobile_node": {"route_optimization": "never"}}}}}

    def test_tcp_connection_to_home_address_survives_three_moves_and_return_home(self):
        self.wait_home_address_ready()
        stream = e2e_util.CounterStream(self.lab, "cn", "mn", HOME_ADDRESS, rate=20000)
        try:
            stream.wait_progress()
            timeline = []
            for link in ("a", "b", "a", "home"):
                attached = self.move(link)
                if link == "home":
                    self.wait_at_home()
                else:
                    self.wait_registered_on(link)
                registered = time.monotonic()
                stream.wait_progress(timeout=15)
                timeline.append((link, registered - attached, time.monotonic() - attached))
            client, server = stream.finish()
        finally:
            stream.kill()
        for link, registered, flowing in timeline:
            sys.stderr.write(f"move to {link}: registered after {registered * 1000:.0f} ms, "
                             f"stream flowing after {flowing * 1000:.0f} ms\n")
        self.assertIsNone(client.get("error"), client)
        self.assertIsNone(server.get("error"), server)
        self.assertGreater(client["sent"], 0)
        self.assertEqual(server["received"], client["sent"], "counters lost or duplicated")
        self.assertEqual(server["trailing_bytes"], 0)

    def wait_home_address_ready(self):
        # The daemon configures the home address on the interface at home (issue 8); the
        # server binds to it.
        e2e_util.m6lab.wait_until(
            lambda: f"{HOME_ADDRESS}/64@eth0" in self.lab.addresses("mn"), 10,
            "the home address on the mobile node's interface")


if __name__ == "__main__":
    unittest.main()
