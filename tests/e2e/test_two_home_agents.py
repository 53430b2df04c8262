"""End-to-end: with two home agents on the home link, Dynamic Home Agent Address Discovery gives
the mobile node the preferred one, which then serves its home address (issue 6; RFC 6275
§10.5.1, §11.4.1)."""

import unittest

import e2e_util
from e2e_util import HOME_ADDRESS

HA2 = "2001:db8:1::2"


class TwoHomeAgentsTest(e2e_util.LabTestCase):
    # A second home agent on the home link with a higher preference (§7.4: higher is better),
    # advertised by its radvd and configured in its mipv6d; the mobile node discovers.
    overrides = {"nodes": {
        "ha2": {
            "forwarding": True,
            "interfaces": [{"name": "home0", "link": "home", "address": f"{HA2}/64",
                            "radvd": "home_agent", "ha_preference": 10}],
            "routes": [{"to": "default", "via": "2001:db8:1::1"}],
            "mipv6d": {"node": {"roles": ["home_agent"]},
                       "home_agent": {"interface": "home0", "prefixes": ["2001:db8:1::/64"],
                                      "preference": 10}},
        },
        "mn": {"mipv6d": {"mobile_node": {"home_agent": "discover",
                                          "route_optimization": "never"}}},
    }}

    def test_1_discovery_picks_the_preferred_home_agent_which_serves_the_home_address_6275_11_4_1(
            self):
        self.move("a")
        care_of = self.wait_registered_on("a", timeout=20)
        self.assertEqual(self.home_entry()["home_agent"], HA2)
        bindings = self.lab.ctl("ha2", "show", "bc")["bindings"]
        self.assertEqual([(b["home_address"], b["care_of_address"]) for b in bindings],
                         [(HOME_ADDRESS, care_of)])
        self.assertEqual(self.ha_bindings(), [], "the less preferred home agent holds a binding")
        # The home link's router delivers to the home address on the link, where the serving
        # home agent answers for it by proxy ND (§10.4.1) and tunnels to the care-of address.
        answered = e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=10, interval=0.05)
        self.assertEqual(sorted(answered), list(range(10)))

    def test_2_when_the_home_agent_dies_the_node_fails_over_to_the_other_after_its_retries_11_8(
            self):
        self.move("a")
        self.wait_registered_on("a", timeout=20)
        self.assertEqual(self.home_entry()["home_agent"], HA2)
        self.stop_daemon("ha2")
        # The next Binding Update goes unanswered; after the back-off reached
        # MAX_BINDACK_TIMEOUT (32 s, §13) the node tries the next home agent of its list
        # (§11.8; 1 + 2 + 4 + 8 + 16 + 32 s of retransmissions).
        self.move("b")
        care_of = self.wait_registered_on("b", timeout=90)
        self.assertEqual(self.home_entry()["home_agent"], "2001:db8:1::1")
        self.assertEqual([b["care_of_address"] for b in self.ha_bindings()], [care_of])
        answered = e2e_util.ping(self.lab, "cn", HOME_ADDRESS, count=10, interval=0.05)
        self.assertEqual(sorted(answered), list(range(10)))

    def stop_daemon(self, node):
        for process in self.lab.state["processes"]:
            if process["label"] == f"mipv6d ({node})":
                problems = []
                e2e_util.m6lab.stop_pid(process["pid"], problems, process["label"])
                self.assertEqual(problems, [])
                return
        self.fail(f"no mipv6d in {node}")


if __name__ == "__main__":
    unittest.main()
