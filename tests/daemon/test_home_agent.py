#!/usr/bin/python3
"""mipv6d as a home agent (RFC 6275 §10) against a scapy mobile node.

Topology (namespaces created and removed by each test):

  ha:   home0 2001:db8:1::1/64 (the home link)     fgn0 2001:db8:2::1/64 (a foreign link)
          |                                           |
  peer: mn0  2001:db8:1::200/64 (a third node)      coa0 2001:db8:2::100/64 (the MN's care-of)

The peer sends with AF_PACKET sockets on mn0 / coa0 and captures what the home agent sends.
"""

import os
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mipv6d_testlib import (  # noqa: E402
    BU_A, BU_H, IPPROTO_ICMPV6, IPPROTO_IPV6, IPPROTO_MH, IPPROTO_UDP, MH_BA, MH_BU, MH_HOT,
    MH_HOTI, MIPV6CTL, NamespaceTestCase, Parsed, add_address, addr_bytes, binding_update,
    checksum_valid, frame, home_address_option_header, icmpv6, init_message, is_mh, main,
    mh_packet, mobility, mobility_header, multicast_mac, parse, pseudo_header_checksum,
    queue_rules, raw_ipv6, run, snapshot, solicited_node, traces, veth, wait_local_route,
    wait_operational, wait_until)
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6NDOptDstLLAddr, ICMPv6NDOptHAInfo,
    ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6)
from scapy.all import Ether  # noqa: E402

HA = "2001:db8:1::1"
HA_FOREIGN = "2001:db8:2::1"
THIRD = "2001:db8:1::200"
HOME = "2001:db8:1::100"
COA = "2001:db8:2::100"
ANYCAST = "2001:db8:1::fdff:ffff:ffff:fffe"  # RFC 2526: the Mobile IPv6 HA anycast, /64
MAX_LIFETIME = 120

HA_HOME_MAC = "02:00:00:00:01:01"
PEER_HOME_MAC = "02:00:00:00:01:02"
HA_FOREIGN_MAC = "02:00:00:00:02:01"
PEER_COA_MAC = "02:00:00:00:02:02"
HA_LINK_LOCAL = "fe80::ff:fe00:101"  # EUI-64 of HA_HOME_MAC (RFC 4291 §2.5.1)

CONFIG = """
[node]
roles = ["home_agent"]
control_socket = "@SOCKET@"
state_file = "@STATE@"
log_level = "debug"

[home_agent]
interface = "home0"
prefixes = ["2001:db8:1::/64"]
max_lifetime = %d
preference = 7
""" % MAX_LIFETIME


def build_topology(test):
    """Creates ha + peer (see the module docstring); returns (ha, peer)."""
    ha = test.namespace("ha")
    peer = test.namespace("peer")
    veth(ha, "home0", HA_HOME_MAC, peer, "mn0", PEER_HOME_MAC)
    veth(ha, "fgn0", HA_FOREIGN_MAC, peer, "coa0", PEER_COA_MAC)
    add_address(ha, "home0", HA + "/64")
    add_address(ha, "fgn0", HA_FOREIGN + "/64")
    add_address(peer, "mn0", THIRD + "/64")
    add_address(peer, "coa0", COA + "/64")
    for ns, ifname in ((ha, "home0"), (ha, "fgn0"), (peer, "mn0"), (peer, "coa0")):
        wait_operational(ns, ifname)
    wait_local_route(ha, HA)
    wait_local_route(peer, COA)
    return ha, peer


def send_bu(coa_port, sequence, lifetime_units, flags=BU_H | BU_A, checksum=None, home=HOME,
            with_hao=True, alternate=COA):
    """A home registration from the care-of address (RFC 6275 §11.7.1)."""
    mh = binding_update(sequence, flags, lifetime_units, alternate_care_of=alternate,
                        source=home if with_hao else COA, destination=HA, checksum=checksum)
    packet = mh_packet(COA, HA, mh, home_address=home if with_hao else None)
    coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC, packet))


def expect_ba(coa_port, sequence=None, timeout=4.0):
    """(Parsed, Mobility) of the next BA on the care-of link (with that sequence number)."""
    def predicate(f):
        found = mobility(f)
        return (found is not None and found[1].type == MH_BA and
                (sequence is None or found[1].sequence == sequence))
    got = coa_port.expect(predicate, timeout=timeout,
                          what="Binding Acknowledgement (seq %s)" % sequence)
    return mobility(got)


def register(coa_port, sequence=7, lifetime_units=100):
    coa_port.drain()
    send_bu(coa_port, sequence, lifetime_units)
    return expect_ba(coa_port, sequence)


class HomeAgentTestCase(NamespaceTestCase):
    def setUp(self):
        super().setUp()
        self.ha, self.peer = build_topology(self)
        self.before = snapshot(self.ha)
        self.daemon = self.new_daemon(self.ha, "ha", CONFIG).start()
        self.coa_port = self.open_port(self.peer, "coa0")
        self.home_port = self.open_port(self.peer, "mn0")

    # -- helpers

    def send_bu(self, sequence, lifetime_units, **kwargs):
        send_bu(self.coa_port, sequence, lifetime_units, **kwargs)

    def expect_ba(self, sequence=None, timeout=4.0):
        return expect_ba(self.coa_port, sequence, timeout)

    def register(self, sequence=7, lifetime_units=100):
        parsed, ba = register(self.coa_port, sequence, lifetime_units)
        self.assertEqual(ba.status, 0, "BA %r\n%s" % (ba, self.daemon.log()))
        return parsed, ba

    def assert_ba_on_the_wire(self, parsed, ba, status, sequence):
        """RFC 6275 §6.1.8, §6.4, §9.5.4: BA to the care-of address, with a Type 2 Routing
        header carrying the home address, from the address the BU went to."""
        self.assertEqual(parsed.source, HA)
        self.assertEqual(parsed.destination, COA)
        self.assertEqual(parsed.rh2, (1, HOME, 2), "Type 2 RH: segments left 1, hdr len 2")
        self.assertIsNone(parsed.home_address, "no Home Address option in a BA")
        self.assertEqual(ba.payload_proto, 59, "§6.1.1 Payload Proto: IPPROTO_NONE")
        self.assertEqual((ba.header_len + 1) * 8, len(parsed.upper), "§6.1.1 Header Len")
        self.assertTrue(checksum_valid(parsed), "MH checksum (pseudo-header dst = home "
                                                "address, §6.1.1) of %s" % parsed.raw.hex())
        self.assertEqual(ba.status, status)
        self.assertEqual(ba.sequence, sequence)
        self.assertEqual(ba.flags & 0x80, 0, "K flag: we did not ask for it (§6.1.8)")

    def stats(self):
        return self.daemon.ctl("show", "stats")


class HomeRegistrationTest(HomeAgentTestCase):
    def test_bu_gets_ba_status_0_with_rh2_and_capped_lifetime_10_3_1(self):
        parsed, ba = self.register(sequence=7, lifetime_units=100)  # asks 400 s
        self.assert_ba_on_the_wire(parsed, ba, status=0, sequence=7)
        # §10.3.1: the granted lifetime is no longer than the home agent's policy allows.
        self.assertGreater(ba.lifetime_units, 0)
        self.assertLessEqual(ba.lifetime_units * 4, MAX_LIFETIME)

        bindings = self.daemon.bindings()
        self.assertEqual(len(bindings), 1, bindings)
        binding = bindings[0]
        self.assertEqual(binding["home_address"], HOME)
        self.assertEqual(binding["care_of_address"], COA)
        self.assertEqual(binding["sequence"], 7)
        self.assertEqual(binding["flags"], "HA")
        self.assertIs(binding["home_registration"], True)
        self.assertEqual(binding["role"], "home_agent")
        self.assertGreater(binding["lifetime_s"], 0)
        self.assertLessEqual(binding["lifetime_s"], ba.lifetime_units * 4)

        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("bu_received", 0), 1, stats)
        self.assertGreaterEqual(stats.get("registrations", 0), 1, stats)

    def test_registration_multicasts_a_neighbor_advertisement_for_the_home_address_10_4_1(self):
        self.home_port.drain()
        self.register()

        def unsolicited_na(f):
            return (ICMPv6ND_NA in f and f[ICMPv6ND_NA].tgt == HOME and
                    f[IPv6].dst == "ff02::1")
        got = self.home_port.expect(unsolicited_na, timeout=3,
                                    what="multicast NA for the home address")
        na = got[ICMPv6ND_NA]
        self.assertIn(got[IPv6].src, (HA, HA_LINK_LOCAL),
                      "§10.4.1: the HA's address on the interface it sends on")
        self.assertEqual(got[IPv6].hlim, 255)
        self.assertEqual((na.R, na.S, na.O), (0, 0, 1), "§10.4.1: R=0, S=0, O=1")
        self.assertIn(ICMPv6ND_NA, got)
        self.assertEqual(got[ICMPv6NDOptDstLLAddr].lladdr, HA_HOME_MAC)

    def test_neighbor_solicitation_for_a_registered_home_address_is_answered_10_4_1(self):
        self.register()
        self.home_port.drain()
        ns = (Ether(src=PEER_HOME_MAC, dst=multicast_mac(solicited_node(HOME))) /
              IPv6(src=THIRD, dst=solicited_node(HOME), hlim=255) / ICMPv6ND_NS(tgt=HOME) /
              ICMPv6NDOptSrcLLAddr(lladdr=PEER_HOME_MAC))

        def solicited_na(f):
            return (ICMPv6ND_NA in f and f[ICMPv6ND_NA].tgt == HOME and
                    f[IPv6].dst == THIRD)
        deadline_sent = 0
        got = None
        while got is None and deadline_sent < 3:  # a lost first NS is not the point here
            self.home_port.send(ns)
            got = self.home_port.wait_for(solicited_na, timeout=1.0)
            deadline_sent += 1
        self.assertIsNotNone(got, "no NA for %s from the home agent; saw:\n%s" %
                             (HOME, self.home_port.describe_seen()))
        na = got[ICMPv6ND_NA]
        self.assertEqual(got[Ether].src, HA_HOME_MAC)
        self.assertEqual(got[IPv6].hlim, 255)
        self.assertEqual(na.S, 1, "a solicited advertisement")
        self.assertEqual(na.R, 0, "§10.4.1: R bit zero")
        self.assertEqual(got[ICMPv6NDOptDstLLAddr].lladdr, HA_HOME_MAC,
                         "§10.4.1: the home agent's link-layer address")
        proxies = run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy")
        self.assertIn(HOME, proxies)

    def test_packet_to_the_home_address_is_tunnelled_to_the_care_of_address_10_4_2(self):
        self.register()
        self.coa_port.drain()
        payload = b"to the home address, via the home agent"
        udp = struct.pack("!HHHH", 40000, 9000, 8 + len(payload), 0) + payload
        # A valid UDP checksum, so that the inner packet is exactly what a host would send.
        checksum = pseudo_header_checksum(THIRD, HOME, IPPROTO_UDP, udp)
        udp = udp[:6] + struct.pack("!H", checksum) + udp[8:]
        inner = raw_ipv6(THIRD, HOME, IPPROTO_UDP, udp)
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC, inner))

        def tunnelled(f):
            p = parse(f)
            return p.protocol == IPPROTO_IPV6 and payload in p.upper
        got = self.coa_port.expect(tunnelled, timeout=3, what="IPv6-in-IPv6 to the care-of")
        outer = parse(got)
        self.assertEqual(outer.source, HA, "§10.4.2: tunnel entry = the home agent")
        self.assertEqual(outer.destination, COA)
        self.assertEqual(outer.headers, [], "no extension header on the outer packet")
        delivered = Parsed(outer.upper)
        self.assertEqual(delivered.source, THIRD)
        self.assertEqual(delivered.destination, HOME)
        self.assertEqual(delivered.protocol, IPPROTO_UDP)
        self.assertEqual(delivered.upper, udp)
        self.assertEqual(delivered.hop_limit, 63, "forwarded once by the home agent")
        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("packets_tunnelled", 0), 1, stats)

    def test_packet_to_the_home_address_from_another_link_is_tunnelled_too_10_4_1(self):
        self.register()
        self.coa_port.drain()
        payload = b"from a correspondent on another link"
        udp = struct.pack("!HHHH", 40001, 9001, 8 + len(payload), 0) + payload
        # Routed to the home agent (its foreign-link MAC) like any packet for the home prefix.
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6("2001:db8:2::55", HOME, IPPROTO_UDP, udp)))
        got = self.coa_port.expect(
            lambda f: parse(f).protocol == IPPROTO_IPV6 and parse(f).upper.endswith(payload),
            timeout=3, what="the tunnelled packet")
        outer = parse(got)
        self.assertEqual((outer.source, outer.destination), (HA, COA))
        inner = Parsed(outer.upper)
        self.assertEqual((inner.source, inner.destination), ("2001:db8:2::55", HOME))

    def test_reverse_tunnelled_packet_is_forwarded_on_the_home_link_10_4_5(self):
        self.register()
        self.home_port.drain()
        payload = b"from the home address, reverse tunnelled"
        udp = struct.pack("!HHHH", 9000, 40000, 8 + len(payload), 0) + payload
        inner = raw_ipv6(HOME, THIRD, IPPROTO_UDP, udp)
        outer = raw_ipv6(COA, HA, IPPROTO_IPV6, inner)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC, outer))

        def decapsulated(f):
            p = parse(f)
            return p.protocol == IPPROTO_UDP and p.upper.endswith(payload)
        got = self.home_port.expect(decapsulated, timeout=3,
                                    what="the decapsulated packet on the home link")
        p = parse(got)
        self.assertEqual((p.source, p.destination), (HOME, THIRD))
        self.assertEqual(got[Ether].src, HA_HOME_MAC)

    def test_deregistration_removes_the_binding_and_its_proxy_entry_10_3_2(self):
        self.register(sequence=7)
        wait_until(lambda: HOME in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the proxy entry")
        self.coa_port.drain()
        self.send_bu(8, 0)
        parsed, ba = self.expect_ba(8)
        self.assert_ba_on_the_wire(parsed, ba, status=0, sequence=8)
        self.assertEqual(ba.lifetime_units, 0)
        self.assertEqual(self.daemon.bindings(), [])
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "neigh", "show",
                                           "proxy"), timeout=3, what="proxy entry removed")
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "route", "show", "table",
                                           "1092"), timeout=3, what="route removed")
        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("deregistrations", 0), 1, stats)

    def test_deregistration_from_the_home_link_11_5_5(self):
        self.register(sequence=7)
        # The mobile node is back on the home link (the peer now owns the home address).
        add_address(self.peer, "mn0", HOME + "/64")
        mh = binding_update(8, BU_H | BU_A, 0, alternate_care_of=HOME, source=HOME,
                            destination=HA)
        self.home_port.drain()
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC, mh_packet(HOME, HA, mh)))

        def ba(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BA
        parsed, ack = mobility(self.home_port.expect(ba, timeout=3, what="BA on the home link"))
        self.assertEqual((parsed.source, parsed.destination), (HA, HOME))
        self.assertIsNone(parsed.rh2, "at home: no Type 2 Routing header")
        self.assertTrue(checksum_valid(parsed))
        self.assertEqual((ack.status, ack.sequence, ack.lifetime_units), (0, 8, 0))
        self.assertEqual(self.daemon.bindings(), [])
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the proxy entry removed")

    def test_sequence_out_of_window_gets_135_with_last_accepted_9_5_1(self):
        self.register(sequence=7)
        self.coa_port.drain()
        self.send_bu(6, 100)
        parsed, ba = self.expect_ba()
        self.assert_ba_on_the_wire(parsed, ba, status=135, sequence=7)
        bindings = self.daemon.bindings()
        self.assertEqual([(b["care_of_address"], b["sequence"]) for b in bindings], [(COA, 7)])
        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("ba_rejected", 0), 1, stats)


class DiscoveryTest(HomeAgentTestCase):
    def test_dhaad_request_to_the_anycast_address_lists_the_home_agent_10_5(self):
        request = icmpv6(144, 0, struct.pack("!HH", 0x1234, 0), COA, ANYCAST)
        self.coa_port.drain()
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, ANYCAST, IPPROTO_ICMPV6, request)))

        def reply(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 145
        p = parse(self.coa_port.expect(reply, timeout=3, what="DHAAD reply (145)"))
        self.assertIn(p.source, (HA, HA_FOREIGN), "§10.5: one of the HA's global addresses")
        self.assertEqual(p.destination, COA, "§10.5: to the request's source")
        self.assertTrue(checksum_valid(p), p.raw.hex())
        self.assertEqual(p.upper[1], 0, "code")
        identifier = struct.unpack("!H", p.upper[4:6])[0]
        self.assertEqual(identifier, 0x1234, "§6.6: the request's Identifier copied")
        body = p.upper[8:]
        self.assertEqual(len(body) % 16, 0)
        addresses = [body[i:i + 16] for i in range(0, len(body), 16)]
        self.assertIn(addr_bytes(HA), addresses)
        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("dhaad_requests", 0), 1, stats)
        self.assertGreaterEqual(stats.get("dhaad_replies", 0), 1, stats)

    def test_mobile_prefix_solicitation_from_a_registered_node_gets_an_advertisement_10_6(self):
        self.register()
        self.coa_port.drain()
        solicitation = icmpv6(146, 0, struct.pack("!HH", 0x4321, 0), HOME, HA)
        extension = home_address_option_header(IPPROTO_ICMPV6, HOME)
        packet = raw_ipv6(COA, HA, IPPROTO_ICMPV6, solicitation, extension=extension)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC, packet))

        def advertisement(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 147
        p = parse(self.coa_port.expect(advertisement, timeout=3, what="MPA (147)"))
        self.assertEqual(p.source, HA)
        self.assertEqual(p.destination, COA)
        self.assertEqual(p.rh2, (1, HOME, 2), "§10.6.3: a Type 2 RH with the home address")
        self.assertTrue(checksum_valid(p), "checksum with the home address as destination")
        self.assertEqual(struct.unpack("!H", p.upper[4:6])[0], 0x4321,
                         "§6.8: the solicitation's Identifier")
        prefixes = []
        i = 8
        while i + 2 <= len(p.upper):
            kind, length = p.upper[i], p.upper[i + 1] * 8
            self.assertGreater(length, 0)
            if kind == 3:  # Prefix Information (RFC 4861 §4.6.2)
                prefixes.append((p.upper[i + 2], p.upper[i + 16:i + 32]))
            i += length
        self.assertTrue(any(length == 64 and prefix[:8] == addr_bytes("2001:db8:1::")[:8]
                            for length, prefix in prefixes), prefixes)
        stats = self.stats()["home_agent"]
        self.assertGreaterEqual(stats.get("mps_received", 0), 1, stats)
        self.assertGreaterEqual(stats.get("mpa_sent", 0), 1, stats)


class HomeAgentsListTest(HomeAgentTestCase):
    PEER_LINK_LOCAL = "fe80::ff:fe00:102"  # EUI-64 of PEER_HOME_MAC
    OTHER_HA = "2001:db8:1::200"

    def advertise_other_home_agent(self, preference, lifetime):
        """An RA with the H bit, a Home Agent Information option and the other home agent's
        global address in a Prefix Information option with the R flag (§7.1-§7.4)."""
        self.home_port.send(
            Ether(src=PEER_HOME_MAC, dst="33:33:00:00:00:01") /
            IPv6(src=self.PEER_LINK_LOCAL, dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(H=1, routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_HOME_MAC) /
            ICMPv6NDOptHAInfo(pref=preference, lifetime=lifetime) /
            ICMPv6NDOptPrefixInfo(prefix=self.OTHER_HA, prefixlen=64, L=1, A=1, R=1,
                                  validlifetime=86400, preferredlifetime=14400))

    def test_router_advertisement_with_h_bit_fills_the_home_agents_list_10_5_1(self):
        self.advertise_other_home_agent(preference=10, lifetime=600)

        def listed():
            agents = self.daemon.ctl("show", "hal")["home_agents"]
            return [a for a in agents if a["address"] == self.OTHER_HA] or None
        entry = wait_until(listed, timeout=3, what="the other home agent in show hal")[0]
        self.assertEqual(entry["link_local"], self.PEER_LINK_LOCAL)
        self.assertEqual(entry["preference"], 10)
        self.assertGreater(entry["lifetime_s"], 590)
        self.assertLessEqual(entry["lifetime_s"], 600, "§7.4: the option's lifetime")

        # §10.5.1: the DHAAD reply lists the home agents by preference, highest first.
        request = icmpv6(144, 0, struct.pack("!HH", 0x0101, 0), COA, ANYCAST)
        self.coa_port.drain()
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, ANYCAST, IPPROTO_ICMPV6, request)))
        p = parse(self.coa_port.expect(
            lambda f: parse(f).protocol == IPPROTO_ICMPV6 and parse(f).upper[0] == 145,
            timeout=3, what="DHAAD reply"))
        body = p.upper[8:]
        addresses = [body[i:i + 16] for i in range(0, len(body), 16)]
        self.assertEqual(addresses, [addr_bytes(self.OTHER_HA), addr_bytes(HA)],
                         "preference 10 before this home agent's 7")

    def test_router_advertisement_with_zero_lifetime_removes_the_entry_10_5_1(self):
        self.advertise_other_home_agent(preference=10, lifetime=600)
        wait_until(lambda: any(a["address"] == self.OTHER_HA
                               for a in self.daemon.ctl("show", "hal")["home_agents"]),
                   timeout=3, what="the other home agent listed")
        self.advertise_other_home_agent(preference=10, lifetime=0)
        wait_until(lambda: not any(a["address"] == self.OTHER_HA
                                   for a in self.daemon.ctl("show", "hal")["home_agents"]),
                   timeout=3, what="the entry removed (Home Agent Lifetime 0)")


def drop_total(stats):
    total = 0
    for role in stats.values():
        for name, value in role.items():
            if "dropped" in name or "malformed" in name or "bad" in name:
                total += value
    return total


class RobustnessTest(HomeAgentTestCase):
    def send_mh(self, mh, with_hao=True):
        packet = mh_packet(COA, HA, mh, home_address=HOME if with_hao else None)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC, packet))

    def test_malformed_signalling_is_counted_and_leaves_bindings_intact_9_2(self):
        self.register(sequence=7)
        before = self.stats()
        home = before["home_agent"]

        # Bad checksum (§6.1.1), carried with a Home Address option so that it reaches the
        # engine through NFQUEUE rather than being dropped silently by the kernel.
        self.send_bu(9, 100, checksum=0xBEEF)
        # Unknown MH type 42 (§9.2: Binding Error status 2), valid checksum.
        self.send_mh(mobility_header(42, b"\0" * 10, source=HOME, destination=HA))
        # Payload Proto not 59 (§6.1.1: Parameter Problem, discard).
        self.send_mh(mobility_header(MH_BU, struct.pack("!HBBH", 10, BU_H | BU_A, 0, 10),
                                     source=HOME, destination=HA, payload_proto=6))
        # Header Len says 40 octets, 16 present (§6.1.1: too short for the type / truncated).
        self.send_mh(mobility_header(MH_BU, struct.pack("!HBBH", 11, BU_H | BU_A, 0, 10),
                                     source=HOME, destination=HA, header_len=4))
        # A Binding Update too short for its fixed part.
        self.send_mh(mobility_header(MH_BU, b"\0\x0b", source=HOME, destination=HA))
        # 4 octets of "Mobility Header".
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, HA, IPPROTO_MH, b"\x3b\x00\x05\x00")))

        def counted():
            after = self.stats()
            return after if drop_total(after) >= drop_total(before) + 5 else None
        after = wait_until(counted, timeout=3, what="drop counters to grow by 5")
        new = after["home_agent"]
        self.assertGreater(new.get("dropped_bad_checksum", 0), home.get("dropped_bad_checksum", 0),
                           new)
        self.assertGreater(new.get("dropped_unknown_mh_type", 0),
                           home.get("dropped_unknown_mh_type", 0), new)
        self.assertGreater(new.get("dropped_bad_mh_field", 0), home.get("dropped_bad_mh_field", 0),
                           new)
        self.assertTrue(self.daemon.running(), self.daemon.log())
        bindings = self.daemon.bindings()
        self.assertEqual([(b["home_address"], b["care_of_address"], b["sequence"])
                          for b in bindings], [(HOME, COA, 7)])
        # Still serving: a refresh is accepted.
        parsed, ba = self.register(sequence=12)
        self.assert_ba_on_the_wire(parsed, ba, status=0, sequence=12)

    def test_malformed_extension_headers_are_counted_and_leave_bindings_intact(self):
        self.register(sequence=7)
        before = self.stats()
        mh = binding_update(20, BU_H | BU_A, 100, alternate_care_of=COA, source=HOME,
                            destination=HA)
        # A Home Address option 8 octets long instead of 16 (§6.3).
        short_hao = bytes([IPPROTO_MH, 1, 0xC9, 8]) + addr_bytes(HOME)[:8] + \
            bytes([1, 2, 0, 0])
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, HA, IPPROTO_MH, mh, extension=short_hao)))
        # A Destination Options header longer than the packet.
        overlong = bytes([IPPROTO_MH, 10, 1, 4, 0, 0, 0, 0])
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, HA, IPPROTO_MH, b"", extension=overlong)))
        # A Type 2 Routing header to this node, which is no mobile node (§6.4): no rule of a
        # home agent queues it, so the kernel answers as RFC 8200 §4.4 says for a routing type
        # it does not know with Segments Left 1 — Parameter Problem, code 0, pointing at the
        # Routing Type — and the daemon never sees it.
        self.coa_port.drain()
        rh2 = bytes([IPPROTO_UDP, 2, 2, 1, 0, 0, 0, 0]) + addr_bytes(HOME)
        udp = struct.pack("!HHHH", 1, 2, 8, 0)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, HA, IPPROTO_UDP, udp, extension=rh2,
                                          extension_type=43)))

        def parameter_problem(pkt):
            parsed = parse(pkt)
            return (parsed.protocol == IPPROTO_ICMPV6 and parsed.source == HA and
                    parsed.upper[:2] == bytes([4, 0]))
        problem = parse(self.coa_port.expect(parameter_problem, timeout=3,
                                             what="ICMPv6 Parameter Problem"))
        self.assertEqual(struct.unpack("!I", problem.upper[4:8])[0], 40 + 2, "Routing Type")

        def counted():
            after = self.stats()
            return after if drop_total(after) >= drop_total(before) + 2 else None
        after = wait_until(counted, timeout=3, what="drop counters to grow by 2")
        self.assertEqual(after["daemon"]["dropped_type2_without_mobile_node"],
                         before["daemon"]["dropped_type2_without_mobile_node"], after)
        self.assertTrue(self.daemon.running(), self.daemon.log())
        self.assertEqual([(b["home_address"], b["sequence"]) for b in self.daemon.bindings()],
                         [(HOME, 7)])

    def test_bu_without_home_address_option_from_off_home_link_gets_132_10_3_1(self):
        # Without a Home Address option the source is the home address (§6.1.7); this one is not
        # on the home link.
        self.coa_port.drain()
        self.send_bu(3, 100, with_hao=False, alternate=None)
        got = self.coa_port.expect(is_mh(MH_BA), timeout=3, what="BA")
        parsed, ba = mobility(got)
        self.assertEqual(parsed.destination, COA)
        self.assertIsNone(parsed.rh2, "the home address is the destination itself")
        self.assertTrue(checksum_valid(parsed))
        self.assertEqual(ba.status, 132, "§10.3.1: Not home subnet")
        self.assertEqual(ba.sequence, 3)
        self.assertEqual(self.daemon.bindings(), [])

    def test_home_registration_without_alternate_care_of_is_dropped_and_counted_11_7_1(self):
        # §11.7.1: the option "MUST be included in all home registrations"; this home agent
        # enforces it.
        self.coa_port.drain()
        self.send_bu(5, 100, alternate=None)
        unwanted = self.coa_port.expect_none(is_mh(MH_BA), timeout=1.0)
        self.assertIsNone(unwanted, "a BA for a BU the home agent drops")

        def counted():
            stats = self.stats()["home_agent"]
            return stats if stats.get("dropped_no_alternate_care_of", 0) == 1 else None
        wait_until(counted, timeout=2, what="dropped_no_alternate_care_of = 1")
        self.assertEqual(self.daemon.bindings(), [])
        self.assertTrue(self.daemon.running())


class ProtectionTest(HomeAgentTestCase):
    def test_duplicate_home_address_on_the_home_link_gets_134_10_3_1(self):
        # Another node on the home link owns the address: its kernel answers the home agent's
        # Duplicate Address Detection.
        add_address(self.peer, "mn0", HOME + "/64")
        self.coa_port.drain()
        self.send_bu(7, 100)
        parsed, ba = self.expect_ba(7, timeout=5)
        self.assert_ba_on_the_wire(parsed, ba, status=134, sequence=7)
        self.assertEqual(self.daemon.bindings(), [])
        self.assertNotIn(HOME, run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"))

    def test_reverse_tunnel_from_another_care_of_address_is_not_forwarded_10_4_5(self):
        self.register()
        before = drop_total(self.stats())
        self.home_port.drain()
        payload = b"spoofed reverse tunnel"
        udp = struct.pack("!HHHH", 9000, 40000, 8 + len(payload), 0) + payload
        inner = raw_ipv6(HOME, THIRD, IPPROTO_UDP, udp)
        outer = raw_ipv6("2001:db8:2::77", HA, IPPROTO_IPV6, inner)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC, outer))
        leaked = self.home_port.expect_none(
            lambda f: parse(f).protocol == IPPROTO_UDP and parse(f).upper.endswith(payload),
            timeout=1.0)
        self.assertIsNone(leaked, "§10.4.5: the outer source must be the registered care-of")
        wait_until(lambda: drop_total(self.stats()) > before, timeout=2,
                   what="the dropped tunnel packet to be counted")

    def test_neighbor_solicitation_for_an_unregistered_address_is_not_answered(self):
        target = "2001:db8:1::123"
        ns = (Ether(src=PEER_HOME_MAC, dst=multicast_mac(solicited_node(target))) /
              IPv6(src=THIRD, dst=solicited_node(target), hlim=255) / ICMPv6ND_NS(tgt=target) /
              ICMPv6NDOptSrcLLAddr(lladdr=PEER_HOME_MAC))
        self.home_port.drain()
        self.home_port.send(ns)
        answer = self.home_port.expect_none(
            lambda f: ICMPv6ND_NA in f and f[ICMPv6ND_NA].tgt == target, timeout=1.0)
        self.assertIsNone(answer, "no proxy for an address without a binding")


class BindingLifeTest(HomeAgentTestCase):
    def test_new_care_of_address_moves_the_tunnel_10_3_1(self):
        self.register(sequence=7)
        second = "2001:db8:2::101"
        add_address(self.peer, "coa0", second + "/64")
        self.coa_port.drain()
        mh = binding_update(8, BU_H | BU_A, 100, alternate_care_of=second, source=HOME,
                            destination=HA)
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 mh_packet(second, HA, mh, home_address=HOME)))
        parsed, ba = self.expect_ba(8)
        self.assertEqual(ba.status, 0)
        self.assertEqual(parsed.destination, second, "the BA goes to the new care-of address")
        self.assertEqual([(b["care_of_address"], b["sequence"]) for b in self.daemon.bindings()],
                         [(second, 8)])
        payload = b"after the move"
        udp = struct.pack("!HHHH", 40000, 9000, 8 + len(payload), 0) + payload
        self.coa_port.drain()
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC, raw_ipv6(THIRD, HOME,
                                                                       IPPROTO_UDP, udp)))
        got = self.coa_port.expect(
            lambda f: parse(f).protocol == IPPROTO_IPV6 and parse(f).upper.endswith(payload),
            timeout=3, what="the tunnelled packet")
        self.assertEqual(parse(got).destination, second)

    def test_deregistering_one_mobile_node_keeps_the_other_10_3_2(self):
        other_home = "2001:db8:1::101"
        self.register(sequence=7)
        self.coa_port.drain()
        self.send_bu(3, 100, home=other_home)
        parsed, ba = self.expect_ba(3)
        self.assertEqual((ba.status, parsed.rh2[1]), (0, other_home))
        self.coa_port.drain()
        self.send_bu(8, 0)
        self.assertEqual(self.expect_ba(8)[1].status, 0)
        self.assertEqual([b["home_address"] for b in self.daemon.bindings()], [other_home])
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the first proxy entry removed")
        self.assertIn(other_home, run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"))
        self.assertIn(other_home, run("ip", "-n", self.ha, "-6", "route", "show", "table",
                                      "1092"))

    def test_binding_expires_after_its_lifetime_10_3_1(self):
        self.register(sequence=7, lifetime_units=1)  # 4 s
        self.assertEqual(len(self.daemon.bindings()), 1)
        wait_until(lambda: self.daemon.bindings() == [], timeout=8, interval=0.2,
                   what="the binding to expire")
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the proxy entry removed at expiry")
        self.assertNotIn(HOME, run("ip", "-n", self.ha, "-6", "route", "show", "table", "1092"))
        stats = self.stats()["home_agent"]
        self.assertEqual(stats["bindings_expired"], 1, stats)

    def test_sigterm_during_duplicate_address_detection_leaves_no_trace(self):
        self.send_bu(7, 100)
        wait_until(lambda: self.stats()["home_agent"].get("dad_started", 0) >= 1, timeout=2,
                   interval=0.01, what="DAD to start")
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.ha, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.ha), daemon=self.daemon)


class DefaultPrefixesTest(HomeAgentTestCase):
    """home_agent.prefixes left out: the global prefixes configured on the interface."""
    CONFIG = CONFIG.replace('prefixes = ["2001:db8:1::/64"]\n', "")

    def setUp(self):
        NamespaceTestCase.setUp(self)
        self.ha, self.peer = build_topology(self)
        self.daemon = self.new_daemon(self.ha, "ha", self.CONFIG).start()
        self.coa_port = self.open_port(self.peer, "coa0")

    def test_the_interface_prefix_is_served(self):
        self.assertNotIn("prefixes", self.CONFIG)
        parsed, ba = self.register()
        self.assert_ba_on_the_wire(parsed, ba, status=0, sequence=7)
        request = icmpv6(144, 0, struct.pack("!HH", 0x0202, 0), COA, ANYCAST)
        self.coa_port.drain()
        self.coa_port.send(frame(PEER_COA_MAC, HA_FOREIGN_MAC,
                                 raw_ipv6(COA, ANYCAST, IPPROTO_ICMPV6, request)))
        p = parse(self.coa_port.expect(
            lambda f: parse(f).protocol == IPPROTO_ICMPV6 and parse(f).upper[0] == 145,
            timeout=3, what="DHAAD reply on the derived prefix's anycast"))
        self.assertEqual(p.upper[8:24], addr_bytes(HA))


class CapacityTest(HomeAgentTestCase):
    CONFIG = CONFIG.replace("max_lifetime", "max_bindings = 1\nmax_lifetime")

    def setUp(self):
        NamespaceTestCase.setUp(self)
        self.ha, self.peer = build_topology(self)
        self.daemon = self.new_daemon(self.ha, "ha", self.CONFIG).start()
        self.coa_port = self.open_port(self.peer, "coa0")

    def test_binding_cache_full_gets_130_10_3_1(self):
        self.register(sequence=7)
        other_home = "2001:db8:1::101"
        self.coa_port.drain()
        self.send_bu(1, 100, home=other_home)
        parsed, ba = self.expect_ba(1)
        self.assertEqual(ba.status, 130, "§6.1.8: insufficient resources")
        self.assertEqual(parsed.rh2, (1, other_home, 2))
        self.assertTrue(checksum_valid(parsed))
        self.assertEqual([b["home_address"] for b in self.daemon.bindings()], [HOME])


class CombinedRolesTest(HomeAgentTestCase):
    """The shipped example's roles: home agent and correspondent in one daemon."""
    CONFIG = CONFIG.replace('roles = ["home_agent"]', 'roles = ["home_agent", "correspondent"]')

    def setUp(self):
        NamespaceTestCase.setUp(self)
        self.ha, self.peer = build_topology(self)
        self.before = snapshot(self.ha)
        self.daemon = self.new_daemon(self.ha, "ha", self.CONFIG).start()
        self.coa_port = self.open_port(self.peer, "coa0")
        self.home_port = self.open_port(self.peer, "mn0")

    def test_home_registrations_and_return_routability_reach_their_roles(self):
        parsed, ba = self.register()
        self.assert_ba_on_the_wire(parsed, ba, status=0, sequence=7)
        # A HoTI (to the correspondent) from a node on the home link.
        self.home_port.drain()
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC, mh_packet(
            THIRD, HA, init_message(MH_HOTI, b"combined", THIRD, HA))))

        def home_test(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_HOT
        p, hot = mobility(self.home_port.expect(home_test, timeout=3, what="Home Test"))
        self.assertEqual((p.source, p.destination, hot.cookie), (HA, THIRD, b"combined"))
        stats = self.stats()
        self.assertEqual(sorted(stats), ["correspondent", "daemon", "home_agent", "security"])
        self.assertEqual(stats["correspondent"]["hoti_received"], 1, stats)
        self.assertEqual(stats["home_agent"]["registrations"], 1, stats)
        self.assertEqual([b["role"] for b in self.daemon.bindings()], ["home_agent"])
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.ha, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.ha), daemon=self.daemon)


class ControlTest(HomeAgentTestCase):
    def test_flush_forgets_the_bindings_and_their_kernel_state(self):
        self.register()
        wait_until(lambda: HOME in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the proxy entry")
        result = self.daemon.ctl("flush")
        self.assertIn("home_agent", result, result)
        self.assertEqual(self.daemon.bindings(), [])
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "neigh", "show", "proxy"),
                   timeout=3, what="the proxy entry removed")
        wait_until(lambda: HOME not in run("ip", "-n", self.ha, "-6", "route", "show", "table",
                                           "1092"), timeout=3, what="the route removed")

    def test_show_text_output_lists_the_binding(self):
        self.register()
        done = subprocess.run([MIPV6CTL, "--socket", self.daemon.socket, "show", "bc"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=5)
        self.assertEqual(done.returncode, 0, done)
        self.assertIn(HOME, done.stdout)
        self.assertIn(COA, done.stdout)

    def test_show_hal_lists_this_home_agent_with_its_preference_10_5_1(self):
        agents = self.daemon.ctl("show", "hal")["home_agents"]
        own = [a for a in agents if a["address"] == HA]
        self.assertEqual(len(own), 1, agents)
        self.assertEqual(own[0]["preference"], 7, "home_agent.preference")


class QueueRulesTest(HomeAgentTestCase):
    def test_only_the_home_address_option_rule_is_installed_6_3_10_3_1(self):
        # §10.3.1: a home agent takes Binding Updates with a Home Address option (§6.3) from
        # NFQUEUE; it never receives a Type 2 Routing header, so every packet is spared that rule.
        rules = queue_rules(self.ha)
        self.assertEqual(len(rules), 1, rules)
        self.assertIn("-m ipv6header --header ipv6-opts --soft", rules[0])


class ShutdownTest(HomeAgentTestCase):
    def test_sigterm_after_a_registration_leaves_no_trace(self):
        self.register()
        wait_until(lambda: traces(self.ha), timeout=3, what="the daemon's kernel objects")
        found = traces(self.ha)
        self.assertTrue(any(line.startswith("proxy") and HOME in line for line in found), found)
        self.assertTrue(any("1092" in line and HOME in line for line in found), found)
        self.assertTrue(any(line.startswith("link mip6ha") for line in found), found)
        self.assertTrue(any("mipv6d" in line for line in found if "ip6tables" in line), found)
        self.assertEqual(run("sysctl", "-n", "net.ipv6.conf.home0.proxy_ndp",
                             ns=self.ha).strip(), "1")
        self.assertTrue(os.path.exists(self.daemon.state_file))
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.ha, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.ha), daemon=self.daemon)
        self.assertFalse(os.path.exists(self.daemon.state_file), "state file removed")
        self.assertFalse(os.path.exists(self.daemon.socket), "control socket removed")

    def test_sigint_also_shuts_down_cleanly(self):
        self.daemon.signal(signal.SIGINT)
        self.assertEqual(self.daemon.process.wait(timeout=10), 0, self.daemon.log())
        self.assertSnapshotEqual(self.before, snapshot(self.ha), daemon=self.daemon)


if __name__ == "__main__":
    main()
