"""Shared helpers of the end-to-end tests (issue 6): a whole mipv6-lab per test class, and the
traffic the tests send through it (ICMPv6 Echo, a TCP counter stream).

Environment: MIPV6D and MIPV6CTL name the binaries; MIPV6_LAB names lab/mipv6-lab (its
directory holds the m6lab module). Each test class brings up its own lab with namespaces
"m6l-t<pid>-<node>" and run directory /run/mipv6-lab/t<pid>, and always takes it down.
"""

import ipaddress
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MIPV6_LAB = os.environ.get("MIPV6_LAB", os.path.join(HERE, "..", "..", "lab", "mipv6-lab"))
sys.path.insert(0, os.path.dirname(os.path.realpath(MIPV6_LAB)))
import m6lab  # noqa: E402
from m6traffic import CounterStream, ping  # noqa: E402,F401  (the tests' traffic)

MIPV6D = os.environ.get("MIPV6D", "")
MIPV6CTL = os.environ.get("MIPV6CTL", "")

HOME_ADDRESS = "2001:db8:1::100"
CN_ADDRESS = "2001:db8:c::2"
LINK_PREFIX = {"home": "2001:db8:1::/64", "a": "2001:db8:a::/64", "b": "2001:db8:b::/64"}


def skip_unless_ready():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (network namespaces)")
    for name, path in (("MIPV6D", MIPV6D), ("MIPV6CTL", MIPV6CTL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest(f"{name} is not set to an executable ({path!r})")
    missing = m6lab.missing_tools()
    if missing:
        raise unittest.SkipTest(f"not installed: {' '.join(missing)}")


class LabTestCase(unittest.TestCase):
    """setUpClass brings a lab up (the default topology with `overrides`), tearDownClass
    always takes it down; on a failure the daemons' logs are printed."""

    overrides = {}
    lab = None

    @classmethod
    def setUpClass(cls):
        skip_unless_ready()
        tag = f"t{os.getpid()}"
        overrides = m6lab.deep_merge({"lab": {"prefix": f"m6l-{tag}"}}, cls.overrides)
        cls.lab = m6lab.Lab(os.path.join(m6lab.DEFAULT_RUN_DIR, tag), m6lab.DEFAULT_TOPOLOGY,
                            overrides=overrides,
                            binaries={"mipv6d": MIPV6D, "mipv6ctl": MIPV6CTL})
        try:
            cls.lab.up()
        except BaseException:
            cls.print_logs()
            cls.take_down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.take_down()

    @classmethod
    def take_down(cls):
        if cls.lab is None:
            return
        problems = cls.lab.down()
        cls.lab = None
        if problems:
            raise AssertionError("lab down: " + "; ".join(problems))

    @classmethod
    def print_logs(cls, lines=40):
        if cls.lab is None or not os.path.isdir(cls.lab.run_dir):
            return
        for name in sorted(os.listdir(cls.lab.run_dir)):
            if name.endswith(".log"):
                with open(os.path.join(cls.lab.run_dir, name), errors="replace") as f:
                    tail = f.readlines()[-lines:]
                sys.stderr.write(f"--- last lines of {name}\n" + "".join(tail))

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        outcome = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            self.print_logs()
        return outcome

    # --- the mobile node ---------------------------------------------------------------------

    def home_entry(self):
        try:
            bul = self.lab.ctl("mn", "show", "bul")
        except (m6lab.LabError, ValueError):
            return None
        for home in bul.get("home_addresses", []):
            if home.get("home_address") == HOME_ADDRESS:
                return home
        return None

    def wait_registered_on(self, link, timeout=15.0):
        """Waits until the home agent acknowledged a care-of address on `link` (RFC 6275
        §11.7.3); returns the care-of address."""
        prefix = ipaddress.IPv6Network(LINK_PREFIX[link])

        def registered():
            home = self.home_entry()
            care_of = home and home.get("care_of_address")
            if home and home.get("state") == "registered" and care_of and \
                    ipaddress.IPv6Address(care_of) in prefix:
                return care_of
            return None
        return m6lab.wait_until(registered, timeout,
                                f"registration of a care-of address on link {link}")

    def wait_at_home(self, timeout=15.0):
        """Waits for the mobile node to be at home with no binding left at the home agent
        (RFC 6275 §11.5.5)."""
        def home():
            entry = self.home_entry()
            return entry and entry.get("state") == "at-home" and not self.ha_bindings()
        m6lab.wait_until(home, timeout, "the mobile node to be at home and deregistered")

    def ha_bindings(self):
        return [b for b in self.lab.ctl("ha", "show", "bc").get("bindings", [])
                if b.get("home_address") == HOME_ADDRESS]

    def move(self, link):
        return self.lab.move(self.lab.mobile_node(), link)

