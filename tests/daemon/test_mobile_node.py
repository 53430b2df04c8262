#!/usr/bin/python3
"""mipv6d as a mobile node away from home (RFC 6275 §11) against a scapy access router and
home agent.

Topology (namespaces created and removed by each test):

  mn:  eth0 (no address but its link-local; the daemon adds the home address)
         |
  net: ar0  fe80::1, 2001:db8:2::1/64 — the access router of the foreign link, which also
            plays the home agent 2001:db8:1::1 (what it sends is crafted with scapy)
"""

import os
import select
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mipv6d_testlib import (  # noqa: E402
    BU_A, BU_H, BU_K, IPPROTO_ICMPV6, IPPROTO_IPV6, IPPROTO_MH, IPPROTO_ROUTING, IPPROTO_UDP,
    MH_BA, MH_BRR, MH_BU, MH_COT, MH_COTI, MH_HOT, MH_HOTI, NamespaceTestCase, OPT_ALT_COA,
    OPT_BAD, OPT_NONCE_INDICES, add_address, addr_bytes, addr_text, binding_authenticator,
    checksum_valid, frame, icmpv6, in_netns, kbm, main, mobility, mobility_header, pad_to,
    parse, pseudo_header_checksum, queue_rules, raw_ipv6, run, snapshot, traces, veth,
    wait_operational, wait_until)
from scapy.all import Ether  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA, ICMPv6ND_RA, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr,
    IPv6)

HOME = "2001:db8:1::100"
HA = "2001:db8:1::1"
ROUTER_LL = "fe80::1"
CORRESPONDENT = "2001:db8:5::5"
MN_MAC = "02:00:00:00:04:01"
AR_MAC = "02:00:00:00:04:02"
LIFETIME = 120

CONFIG = """
[node]
roles = ["mobile_node"]
control_socket = "@SOCKET@"
state_file = "@STATE@"
log_level = "debug"

[mobile_node]
home_address = "2001:db8:1::100/64"
home_agent = "2001:db8:1::1"
interfaces = ["eth0"]
route_optimization = "never"
lifetime = %d
""" % LIFETIME


def router_advertisement(source=ROUTER_LL, prefix="2001:db8:2::", router_lifetime=1800,
                         valid=86400, preferred=14400, home_agent=False):
    """RFC 4861 §4.2 from the access router: by default the foreign prefix 2001:db8:2::/64
    (SLAAC)."""
    return (Ether(src=AR_MAC, dst="33:33:00:00:00:01") /
            IPv6(src=source, dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(H=int(home_agent), routerlifetime=router_lifetime, reachabletime=0,
                        retranstimer=0) /
            ICMPv6NDOptSrcLLAddr(lladdr=AR_MAC) /
            ICMPv6NDOptPrefixInfo(prefix=prefix, prefixlen=64, L=1, A=1, validlifetime=valid,
                                  preferredlifetime=preferred))


def type2_routing_header(next_header, home_address):
    """RFC 6275 §6.4: Hdr Ext Len 2, Routing Type 2, Segments Left 1, the home address."""
    return bytes([next_header, 2, 2, 1, 0, 0, 0, 0]) + addr_bytes(home_address)


def udp(source, destination, source_port, destination_port, payload):
    datagram = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
    checksum = pseudo_header_checksum(source, destination, IPPROTO_UDP, datagram)
    return datagram[:6] + struct.pack("!H", checksum) + datagram[8:]


def is_slaac(category, line):
    """The kernel's own objects from the RA (SLAAC address, prefix and default routes): they
    are not the daemon's, and stay after it stops."""
    return "2001:db8:2:" in line or "proto ra" in line


def build_access_link(test):
    """Creates mn + net: the mobile node's eth0 on a link whose other end (ar0, in net) is the
    access router scapy plays (ROUTER_LL, 2001:db8:2::1/64). Returns (mn, net)."""
    mn = test.namespace("mn")
    net = test.namespace("net")
    veth(mn, "eth0", MN_MAC, net, "ar0", AR_MAC)
    add_address(net, "ar0", ROUTER_LL + "/64")
    add_address(net, "ar0", "2001:db8:2::1/64")
    wait_operational(mn, "eth0")
    wait_operational(net, "ar0")
    return mn, net


class MobileNodeTestCase(NamespaceTestCase):
    CONFIG = CONFIG

    def setUp(self):
        super().setUp()
        self.mn, self.net = build_access_link(self)
        self.before = snapshot(self.mn)
        self.daemon = self.new_daemon(self.mn, "mn", self.CONFIG).start()
        self.port = self.open_port(self.net, "ar0")

    def wait_for_home_registration(self):
        """Advertises the foreign prefix until the mobile node sends its home registration."""
        def home_bu(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BU
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.port.send(router_advertisement())
            got = self.port.wait_for(home_bu, timeout=1.0)
            if got is not None:
                return mobility(got)
        self.fail("no Binding Update within 10 s of Router Advertisements; saw:\n%s\n"
                  "mn addresses:\n%s\nlog:\n%s" %
                  (self.port.describe_seen(), run("ip", "-n", self.mn, "-6", "addr"),
                   self.daemon.log()))

    def acknowledge(self, parsed, bu, lifetime_units, status=0, sequence=None):
        sequence = bu.sequence if sequence is None else sequence
        body = struct.pack("!BBHH", status, 0, sequence, lifetime_units)
        ba = mobility_header(MH_BA, body, source=HA, destination=HOME)
        packet = raw_ipv6(HA, parsed.source, IPPROTO_MH, ba,
                          extension=type2_routing_header(IPPROTO_MH, HOME),
                          extension_type=IPPROTO_ROUTING)
        self.port.send(frame(AR_MAC, MN_MAC, packet))

    def register(self):
        parsed, bu = self.wait_for_home_registration()
        granted = min(bu.lifetime_units, LIFETIME // 4)
        self.acknowledge(parsed, bu, granted)

        def registered():
            bul = self.daemon.ctl("show", "bul")
            homes = bul.get("home_addresses", [])
            return bul if homes and homes[0].get("state") == "registered" else None
        bul = wait_until(registered, timeout=3, what="show bul: registered")
        return parsed, bu, bul


class MobileNodeTest(MobileNodeTestCase):
    def test_only_the_type2_routing_header_rule_is_installed_6_4_11_3_3(self):
        # §11.3.3: a mobile node takes packets with a Type 2 Routing header (§6.4) from NFQUEUE;
        # a Home Address option never reaches it, so every packet is spared that rule.
        rules = queue_rules(self.mn)
        self.assertEqual(len(rules), 1, rules)
        self.assertIn("-m rt --rt-type 2", rules[0])

    def test_home_registration_fields_11_7_1(self):
        parsed, bu = self.wait_for_home_registration()
        care_of = parsed.source
        self.assertTrue(care_of.startswith("2001:db8:2:"), "care-of from the foreign prefix")
        self.assertIn(care_of, run("ip", "-n", self.mn, "-6", "addr", "show", "dev", "eth0"))
        self.assertEqual(parsed.destination, HA)
        self.assertEqual(parsed.home_address, HOME, "§11.7.1: Home Address option")
        self.assertIsNone(parsed.rh2)
        self.assertTrue(checksum_valid(parsed), "checksum with the home address as source")
        self.assertEqual(bu.payload_proto, 59)
        self.assertTrue(bu.flags & BU_H, "H set (§11.7.1)")
        self.assertTrue(bu.flags & BU_A, "A set (§11.7.1)")
        self.assertEqual(bu.flags & BU_K, 0, "K clear: no IPsec here")
        self.assertEqual(addr_text(bu.option(OPT_ALT_COA) or b"\0" * 16), care_of,
                         "§11.7.1: Alternate Care-of Address option = the care-of address")
        lifetime = bu.lifetime_units
        self.assertGreater(lifetime, 0)
        self.assertLessEqual(lifetime * 4, LIFETIME, "what mobile_node.lifetime asks")

    def test_ba_135_makes_the_next_bu_follow_the_acknowledged_sequence_11_7_3(self):
        parsed, bu = self.wait_for_home_registration()
        told = (bu.sequence + 1000) % 65536
        self.port.drain()
        self.acknowledge(parsed, bu, 0, status=135, sequence=told)

        def next_bu(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BU
        _, again = mobility(self.port.expect(next_bu, timeout=5, what="the BU after BA 135"))
        self.assertEqual(again.sequence, (told + 1) % 65536,
                         "§11.7.3: the BA's sequence number, plus one")

    def test_ba_rejection_leaves_the_home_address_unregistered_11_7_3(self):
        parsed, bu = self.wait_for_home_registration()
        self.acknowledge(parsed, bu, 0, status=129)  # administratively prohibited

        def state():
            homes = self.daemon.ctl("show", "bul")["home_addresses"]
            return homes[0]["state"] if homes[0]["state"] != "registering" else None
        final = wait_until(state, timeout=3, interval=0.05, what="the BA to be processed")
        self.assertNotEqual(final, "registered")
        stats = self.daemon.stats("mobile_node")
        self.assertEqual(stats["ba_rejected"], 1, stats)

    def test_registered_after_ba_0_11_7_3(self):
        parsed, bu, bul = self.register()
        home = bul["home_addresses"][0]
        self.assertEqual(home["home_address"], HOME)
        self.assertEqual(home["home_agent"], HA)
        self.assertEqual(home["care_of_address"], parsed.source)
        entries = [e for e in bul["entries"] if e["peer"] == HA]
        self.assertEqual(len(entries), 1, bul)
        entry = entries[0]
        self.assertIs(entry["home_registration"], True)
        self.assertEqual(entry["home_address"], HOME)
        self.assertEqual(entry["care_of_address"], parsed.source)
        self.assertEqual(entry["sequence"], bu.sequence)
        self.assertLessEqual(entry["lifetime_s"], LIFETIME)

    def test_application_traffic_from_the_home_address_is_reverse_tunnelled_11_3_1(self):
        parsed, _bu, _bul = self.register()
        care_of = parsed.source
        self.port.drain()
        payload = b"from an application bound to the home address"
        with in_netns(self.mn):
            sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            sender.bind((HOME, 0))
            sender.sendto(payload, (CORRESPONDENT, 7000))

            def tunnelled(f):
                p = parse(f)
                return p.protocol == IPPROTO_IPV6 and p.upper.endswith(payload)
            got = self.port.expect(tunnelled, timeout=3, what="the reverse-tunnelled datagram")
        finally:
            sender.close()
        outer = parse(got)
        self.assertEqual(outer.source, care_of, "§11.3.1: tunnel from the care-of address")
        self.assertEqual(outer.destination, HA)
        self.assertEqual(got[Ether].dst, AR_MAC, "via the access router")
        inner = parse(outer.upper)
        self.assertEqual(inner.source, HOME)
        self.assertEqual(inner.destination, CORRESPONDENT)
        self.assertEqual(inner.protocol, IPPROTO_UDP)
        self.assertEqual(struct.unpack("!H", inner.upper[2:4])[0], 7000)
        self.assertTrue(checksum_valid(inner))

    def test_tunnelled_datagram_from_the_home_agent_reaches_the_home_address_socket_11_3_2(self):
        parsed, _bu, _bul = self.register()
        care_of = parsed.source
        payload = b"tunnelled by the home agent"
        with in_netns(self.mn):
            receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            receiver.bind((HOME, 7001))
            inner = raw_ipv6(CORRESPONDENT, HOME, IPPROTO_UDP,
                             udp(CORRESPONDENT, HOME, 5555, 7001, payload))
            outer = raw_ipv6(HA, care_of, IPPROTO_IPV6, inner)
            received = None
            for _ in range(3):
                self.port.send(frame(AR_MAC, MN_MAC, outer))
                ready, _, _ = select.select([receiver], [], [], 1.0)
                if ready:
                    received = receiver.recvfrom(2048)
                    break
        finally:
            receiver.close()
        self.assertIsNotNone(received, "nothing reached [%s]:7001\n%s" % (HOME,
                                                                         self.daemon.log()))
        data, source = received
        self.assertEqual(data, payload)
        self.assertEqual(source[0], CORRESPONDENT)
        self.assertEqual(source[1], 5555)

    def test_binding_refresh_request_gets_a_new_binding_update_11_7_4(self):
        parsed, bu, _bul = self.register()
        care_of = parsed.source
        brr = mobility_header(MH_BRR, b"\0\0", source=HA, destination=HOME)
        self.port.drain()
        self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(
            HA, care_of, IPPROTO_MH, brr, extension=type2_routing_header(IPPROTO_MH, HOME),
            extension_type=IPPROTO_ROUTING)))

        def refresh(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BU
        again, update = mobility(self.port.expect(refresh, timeout=3,
                                                  what="a Binding Update after the BRR"))
        self.assertEqual(update.sequence, (bu.sequence + 1) % 65536, "§11.7.1: next sequence")
        self.assertTrue(update.flags & BU_H and update.flags & BU_A)
        self.assertEqual(again.home_address, HOME)
        self.assertEqual(again.source, care_of)
        self.assertTrue(checksum_valid(again))

    def move_to_a_new_router(self):
        """Registers on 2001:db8:2::/64, then moves: the link goes down and up (the L2 hint,
        §11.5.1), the old router is gone (it no longer answers the probe) and a new one
        advertises 2001:db8:3::/64. Returns (old care-of, first BU, parsed BU, BU) after the
        move. (Without an L2 event or Advertisement Interval options, the detector keeps a
        silent router until its Router Lifetime ends: "a new router or a new prefix alone is
        never movement".)"""
        parsed, bu, _bul = self.register()
        run("ip", "-n", self.net, "-6", "addr", "del", ROUTER_LL + "/64", "dev", "ar0")
        add_address(self.net, "ar0", "fe80::2/64")
        run("ip", "-n", self.net, "link", "set", "ar0", "down")
        # The kernel reports carrier changes in batches: let the loss be seen before the link
        # comes back.
        wait_until(lambda: "NO-CARRIER" in run("ip", "-n", self.mn, "link", "show", "eth0"),
                   timeout=3, what="eth0 without carrier")
        run("ip", "-n", self.net, "link", "set", "ar0", "up")
        wait_operational(self.net, "ar0")

        def moved(f):
            found = mobility(f)
            return (found is not None and found[1].type == MH_BU and
                    found[0].source.startswith("2001:db8:3:"))
        got = None
        deadline = time.monotonic() + 12
        while got is None and time.monotonic() < deadline:
            self.port.send(router_advertisement(source="fe80::2", prefix="2001:db8:3::"))
            got = self.port.wait_for(moved, timeout=1.0)
        self.assertIsNotNone(got, "no BU from a 2001:db8:3::/64 care-of; saw:\n%s\n%s" %
                             (self.port.describe_seen(), self.daemon.log()))
        self.assertEqual(got[Ether].dst, AR_MAC, "sent via the new router")
        return parsed.source, bu, *mobility(got)

    def test_new_prefix_on_a_new_router_gets_a_binding_update_from_the_new_care_of_11_5_1(self):
        old_care_of, bu, moved_parsed, update = self.move_to_a_new_router()
        care_of = moved_parsed.source
        self.assertNotEqual(care_of, old_care_of)
        self.assertEqual(moved_parsed.home_address, HOME)
        self.assertEqual(addr_text(update.option(OPT_ALT_COA) or b"\0" * 16), care_of)
        self.assertEqual(update.sequence, (bu.sequence + 1) % 65536)
        self.assertGreater(update.lifetime_units, 0)
        self.assertTrue(checksum_valid(moved_parsed))
        # Issue 8: the old link's address and default router are not used any more (the
        # kernel would keep them until their lifetimes run out).
        wait_until(lambda: old_care_of not in run("ip", "-n", self.mn, "-6", "addr"), timeout=3,
                   what="the old care-of address removed")
        wait_until(lambda: "via " + ROUTER_LL not in run("ip", "-n", self.mn, "-6", "route"),
                   timeout=3, what="the old default route removed")

    # Issue 8: Linux does not remove the on-link prefix route an RA's Prefix Information option
    # installed ("2001:db8:2::/64 dev eth0 proto kernel expires ...") with the address formed in
    # it; the daemon must, or the node keeps sending on-link to the link it left.
    def test_after_a_move_the_old_prefix_is_not_on_link_any_more(self):
        self.move_to_a_new_router()

        def routes():
            return run("ip", "-n", self.mn, "-6", "route")
        try:
            wait_until(lambda: "2001:db8:2::/64" not in routes(), timeout=3,
                       what="the old link's prefix route removed")
        except AssertionError:
            self.fail("the old link's prefix is still on-link after the move:\n" + routes())

    def test_returning_home_deregisters_and_moves_the_home_address_home_11_5_5(self):
        parsed, bu, _bul = self.register()
        # The link becomes the home link: the home agent's router advertises the home prefix
        # and the foreign router leaves. The peer owns the home agent's address so that its
        # kernel answers Neighbor Solicitations for it; a raw Mobility Header socket keeps it
        # from answering the BU with a Parameter Problem.
        add_address(self.net, "ar0", "fe80::a/64")
        add_address(self.net, "ar0", HA + "/64")
        with in_netns(self.net):
            sink = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
        try:
            def deregistration(f):
                found = mobility(f)
                return (found is not None and found[1].type == MH_BU and
                        found[1].lifetime_units == 0)
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                self.port.send(router_advertisement(router_lifetime=0, valid=0, preferred=0))
                self.port.send(router_advertisement(source="fe80::a", prefix="2001:db8:1::",
                                                    home_agent=True))
                got = self.port.wait_for(deregistration, timeout=1.0)
            self.assertIsNotNone(got, "no de-registration BU; saw:\n%s\n%s" %
                                 (self.port.describe_seen(), self.daemon.log()))
            home_parsed, update = mobility(got)
            # §11.5.5: A and H set, lifetime zero, care-of = home address, from the home address.
            self.assertEqual(home_parsed.source, HOME)
            self.assertEqual(home_parsed.destination, HA)
            self.assertIsNone(home_parsed.home_address, "no Home Address option at home")
            self.assertTrue(update.flags & BU_H and update.flags & BU_A)
            self.assertEqual(update.sequence, (bu.sequence + 1) % 65536)
            alternate = update.option(OPT_ALT_COA)
            if alternate is not None:
                self.assertEqual(addr_text(alternate), HOME)
            self.assertTrue(checksum_valid(home_parsed))

            ba = mobility_header(MH_BA, struct.pack("!BBHH", 0, 0, update.sequence, 0),
                                 source=HA, destination=HOME)
            self.port.drain()
            self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(HA, HOME, IPPROTO_MH, ba)))
            # §11.5.5: then a multicast NA for the home address with the MN's link-layer address.
            na = self.port.expect(
                lambda f: ICMPv6ND_NA in f and f[ICMPv6ND_NA].tgt == HOME and
                f[IPv6].dst == "ff02::1", timeout=3, what="the mobile node's multicast NA")
            self.assertEqual((na[ICMPv6ND_NA].S, na[ICMPv6ND_NA].O), (0, 1))
            self.assertEqual(na[ICMPv6NDOptDstLLAddr].lladdr, MN_MAC)
        finally:
            sink.close()
        wait_until(lambda: HOME in run("ip", "-n", self.mn, "-6", "addr", "show", "dev", "eth0"),
                   timeout=3, what="the home address on eth0 (§11.5.5)")
        bul = self.daemon.ctl("show", "bul")
        self.assertNotEqual(bul["home_addresses"][0]["state"], "registered", bul)
        self.assertNotIn("1001:", run("ip", "-n", self.mn, "-6", "rule", "show"),
                         "no reverse-tunnel rule at home")
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNotIn(HOME, run("ip", "-n", self.mn, "-6", "addr"))
        self.assertNoTraces(self.mn, self.daemon)

    def test_restart_after_kill_9_cleans_up_what_the_crashed_one_left(self):
        self.register()
        self.daemon.kill9()
        left = traces(self.mn)
        self.assertTrue(any(line.startswith("rule 1001") for line in left),
                        "a crash leaves the reverse-tunnel rule: %s" % left)
        restarted = self.new_daemon(self.mn, "mn", CONFIG)
        restarted.log_path = os.path.join(self.workdir, "restarted.log")
        restarted.start()
        self.assertIn("previous mipv6d", restarted.log())
        self.assertEqual(restarted.stop(), 0, restarted.log())
        self.assertNoTraces(self.mn, restarted)
        self.assertNotIn(HOME, run("ip", "-n", self.mn, "-6", "addr"))
        self.assertSnapshotEqual(self.before, snapshot(self.mn), ignore=is_slaac,
                                 daemon=restarted)

    def test_router_solicitation_at_start_gets_the_node_registered_11_5_1(self):
        # The daemon is already running: restart it so that its start-up solicitation is seen.
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.port.drain()
        self.daemon.start()

        def solicitation(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 133
        p = parse(self.port.expect(solicitation, timeout=5, what="a Router Solicitation"))
        self.assertEqual(p.destination, "ff02::2", "RFC 4861 §6.3.7: all-routers")
        self.assertEqual(p.hop_limit, 255)
        self.assertTrue(checksum_valid(p))
        self.port.send(router_advertisement())

        def home_bu(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BU
        self.port.expect(home_bu, timeout=5, what="the BU after one solicited RA")

    def test_sigterm_leaves_no_trace_and_removes_the_home_address(self):
        self.register()
        found = traces(self.mn)
        self.assertTrue(any(line.startswith("link mip6mn") for line in found), found)
        self.assertIn(HOME, run("ip", "-n", self.mn, "-6", "addr"))
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.mn, self.daemon)
        self.assertNotIn(HOME, run("ip", "-n", self.mn, "-6", "addr"))
        self.assertSnapshotEqual(self.before, snapshot(self.mn), ignore=is_slaac,
                                 daemon=self.daemon)
        self.assertFalse(os.path.exists(self.daemon.state_file))


class DiscoveryTest(MobileNodeTestCase):
    CONFIG = CONFIG.replace('home_agent = "2001:db8:1::1"', 'home_agent = "discover"')
    ANYCAST = addr_text(addr_bytes("2001:db8:1::fdff:ffff:ffff:fffe"))  # RFC 2526

    def test_discover_sends_dhaad_and_registers_with_the_answer_11_4_1(self):
        def request(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 144
        got = None
        deadline = time.monotonic() + 10
        while got is None and time.monotonic() < deadline:
            self.port.send(router_advertisement())
            got = self.port.wait_for(request, timeout=1.0)
        self.assertIsNotNone(got, "no DHAAD request; saw:\n%s\n%s" %
                             (self.port.describe_seen(), self.daemon.log()))
        p = parse(got)
        care_of = p.source
        self.assertTrue(care_of.startswith("2001:db8:2:"), "§11.4.1: from the care-of address")
        self.assertEqual(p.destination, self.ANYCAST, "§11.4.1: the home prefix's anycast")
        self.assertIsNone(p.home_address)
        self.assertEqual(p.upper[1], 0)
        self.assertTrue(checksum_valid(p))
        identifier = struct.unpack("!H", p.upper[4:6])[0]
        self.assertEqual(p.upper[6] & 0x80, 0, "R bit: not a mobile router")

        reply = icmpv6(145, 0, struct.pack("!HH", identifier, 0) + addr_bytes(HA), HA, care_of)
        self.port.drain()
        self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(HA, care_of, IPPROTO_ICMPV6, reply)))

        def home_bu(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BU
        bu_parsed, bu = mobility(self.port.expect(home_bu, timeout=3,
                                                  what="a BU to the discovered home agent"))
        self.assertEqual(bu_parsed.destination, HA)
        self.assertEqual(bu_parsed.home_address, HOME)
        self.assertTrue(bu.flags & BU_H)


class RouteOptimizationTest(MobileNodeTestCase):
    """route_optimization = "always": the peer plays the home agent and a correspondent."""
    CONFIG = CONFIG.replace('route_optimization = "never"', 'route_optimization = "always"')
    HOME_TOKEN = b"HOMETOKN"
    CARE_OF_TOKEN = b"COATOKEN"

    def tunnel_from_home_agent(self, care_of, inner):
        self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(HA, care_of, IPPROTO_IPV6, inner)))

    def return_routability(self, care_of):
        """Waits for the HoTI (reverse tunnelled, §11.6.1) and the CoTI (direct), answers
        both; returns the nonce indices."""
        def hoti(f):
            p = parse(f)
            if p.protocol != IPPROTO_IPV6:
                return False
            inner = parse(p.upper)
            return inner.protocol == IPPROTO_MH and inner.upper[2] == MH_HOTI

        def coti(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_COTI
        got = self.port.expect(hoti, timeout=5, what="a HoTI through the reverse tunnel")
        outer = parse(got)
        self.assertEqual((outer.source, outer.destination), (care_of, HA))
        inner = parse(outer.upper)
        self.assertEqual((inner.source, inner.destination), (HOME, CORRESPONDENT))
        self.assertIsNone(inner.home_address)
        self.assertTrue(checksum_valid(inner))
        home_cookie = inner.upper[8:16]
        got = self.port.expect(coti, timeout=5, what="a CoTI")
        parsed, _ = mobility(got)
        self.assertEqual((parsed.source, parsed.destination), (care_of, CORRESPONDENT))
        self.assertTrue(checksum_valid(parsed))
        care_of_cookie = parsed.upper[8:16]

        hot = mobility_header(MH_HOT, struct.pack("!H", 11) + home_cookie + self.HOME_TOKEN,
                              source=CORRESPONDENT, destination=HOME)
        self.tunnel_from_home_agent(care_of, raw_ipv6(CORRESPONDENT, HOME, IPPROTO_MH, hot))
        cot = mobility_header(MH_COT, struct.pack("!H", 22) + care_of_cookie +
                              self.CARE_OF_TOKEN, source=CORRESPONDENT, destination=care_of)
        self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(CORRESPONDENT, care_of, IPPROTO_MH, cot)))
        return 11, 22

    def test_binding_update_to_a_correspondent_after_return_routability_11_6_11_7_2(self):
        parsed, _bu, _bul = self.register()
        care_of = parsed.source
        # A packet from the correspondent, tunnelled by the home agent, starts it (§11.7.2).
        self.port.drain()
        self.tunnel_from_home_agent(care_of, raw_ipv6(
            CORRESPONDENT, HOME, IPPROTO_UDP, udp(CORRESPONDENT, HOME, 5555, 7002, b"hi")))
        home_index, care_of_index = self.return_routability(care_of)

        def correspondent_bu(f):
            found = mobility(f)
            return (found is not None and found[1].type == MH_BU and
                    found[0].destination == CORRESPONDENT)
        bu_parsed, bu = mobility(self.port.expect(correspondent_bu, timeout=5,
                                                  what="the BU to the correspondent"))
        self.assertEqual(bu_parsed.source, care_of)
        self.assertEqual(bu_parsed.home_address, HOME, "§11.7.2: Home Address option")
        self.assertTrue(checksum_valid(bu_parsed))
        self.assertEqual(bu.flags & BU_H, 0, "not a home registration")
        self.assertGreater(bu.lifetime_units, 0)
        self.assertLessEqual(bu.lifetime_units * 4, 420, "§5.2.5 MAX_RR_BINDING_LIFETIME")
        indices = bu.option(OPT_NONCE_INDICES)
        self.assertEqual(indices, struct.pack("!HH", home_index, care_of_index))
        key = kbm(self.HOME_TOKEN, self.CARE_OF_TOKEN)
        self.assertEqual(bu.options[-1][0], OPT_BAD, "Binding Authorization Data comes last")
        self.assertEqual(bu.option(OPT_BAD),
                         binding_authenticator(key, care_of, CORRESPONDENT, bu.raw),
                         "§6.2.7 authenticator with Kbm = SHA-1(home token | care-of token)")

        if bu.flags & BU_A:
            body = struct.pack("!BBHH", 0, 0, bu.sequence, bu.lifetime_units)
            options = pad_to(12, 8, 2) + bytes([OPT_BAD, 12]) + b"\0" * 12
            ba = mobility_header(MH_BA, body, options, checksum=0)
            ba = ba[:-12] + binding_authenticator(key, care_of, CORRESPONDENT, ba)
            checksum = pseudo_header_checksum(CORRESPONDENT, HOME, IPPROTO_MH, ba)
            ba = ba[:4] + struct.pack("!H", checksum) + ba[6:]
            self.port.send(frame(AR_MAC, MN_MAC, raw_ipv6(
                CORRESPONDENT, care_of, IPPROTO_MH, ba,
                extension=type2_routing_header(IPPROTO_MH, HOME),
                extension_type=IPPROTO_ROUTING)))

        def entry():
            entries = self.daemon.ctl("show", "bul")["entries"]
            found = [e for e in entries if e["peer"] == CORRESPONDENT]
            return found if found and found[0]["state"] in ("acknowledged", "sent") else None
        found = wait_until(entry, timeout=3, what="the correspondent's BUL entry")[0]
        self.assertIs(found["home_registration"], False)
        self.assertEqual(found["care_of_address"], care_of)

        # Route optimised now (§11.3.1): from the care-of address with a Home Address option.
        payload = b"route optimised from the mobile node"
        with in_netns(self.mn):
            sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            sender.bind((HOME, 0))
            self.port.drain()
            sender.sendto(payload, (CORRESPONDENT, 7003))
            got = self.port.expect(
                lambda f: parse(f).protocol == IPPROTO_UDP and parse(f).upper.endswith(payload),
                timeout=3, what="the datagram with a Home Address option")
        finally:
            sender.close()
        p = parse(got)
        self.assertEqual((p.source, p.destination), (care_of, CORRESPONDENT))
        self.assertEqual(p.home_address, HOME)
        self.assertTrue(checksum_valid(p), "UDP checksum over the home address (§6.3)")


if __name__ == "__main__":
    main()
