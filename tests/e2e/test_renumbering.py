"""End-to-end: renumbering of the home link reaches the away mobile node by Mobile Prefix
Advertisement (issue 6; RFC 6275 §10.6.2, §11.4.3)."""

import ipaddress
import unittest

import e2e_util

NEW_PREFIX = ipaddress.IPv6Network("2001:db8:11::/64")


class RenumberingTest(e2e_util.LabTestCase):

    def mn_home_addresses(self):
        return self.lab.ctl("mn", "show", "bul").get("home_addresses", [])

    def test_new_home_prefix_reaches_the_away_node_and_is_registered_6275_10_6_2(self):
        self.move("a")
        self.wait_registered_on("a")
        sent_before = self.lab.ctl("ha", "show", "stats")["home_agent"]["mpa_sent"]
        # The operator renumbers the home link: an address in the new prefix on the home
        # agent's interface, the old prefix deprecated (RFC 4862 §5.5.4, RFC 4192).
        self.lab.exec("ha", "ip", "-6", "address", "add", "2001:db8:11::1/64", "dev", "home0",
                      "nodad")
        self.lab.exec("ha", "ip", "-6", "address", "change", "2001:db8:1::1/64", "dev", "home0",
                      "preferred_lft", "0")

        def formed():
            for home in self.mn_home_addresses():
                address = ipaddress.IPv6Address(home["home_address"])
                if address in NEW_PREFIX and home.get("state") == "registered":
                    return home
            return None
        home = e2e_util.m6lab.wait_until(formed, 15.0,
                                         "a home address in the new prefix, registered")
        # §11.4.3: the new home address keeps the interface identifier of the old one.
        self.assertEqual(home["home_address"], "2001:db8:11::100")
        self.assertGreater(self.lab.ctl("ha", "show", "stats")["home_agent"]["mpa_sent"],
                           sent_before)
        self.assertGreaterEqual(
            self.lab.ctl("mn", "show", "stats")["mobile_node"]["mpa_accepted"], 1)
        bindings = [b["home_address"] for b in self.lab.ctl("ha", "show", "bc")["bindings"]]
        self.assertIn("2001:db8:11::100", bindings)
        self.assertIn(e2e_util.HOME_ADDRESS, bindings)
        # The new home address is usable (§11.4.3: "the mobile node ... forms a new home
        # address"): the node holds it, and a correspondent reaches it through the home agent.
        self.lab.exec("core", "ip", "-6", "route", "add", str(NEW_PREFIX), "via", "2001:db8:f1::2")
        self.assertTrue(any(a.startswith("2001:db8:11::100/128@")
                            for a in self.lab.addresses("mn")), self.lab.addresses("mn"))
        answered = e2e_util.ping(self.lab, "cn", "2001:db8:11::100", count=5, interval=0.05)
        self.assertEqual(sorted(answered), list(range(5)), "echo replies at the new home address")


if __name__ == "__main__":
    unittest.main()
