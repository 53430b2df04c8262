#!/usr/bin/python3
"""mipv6d as a correspondent node (RFC 6275 §5.2, §9) against a scapy mobile node.

Topology (namespaces created and removed by each test):

  cn:   eth0 2001:db8:3::1/64, with 2001:db8:1::/64 and 2001:db8:2::/64 on-link
          |
  peer: mn0  2001:db8:3::2/64, the home address 2001:db8:1::100/64 and the care-of address
             2001:db8:2::100/64 (so that its kernel answers Neighbor Solicitations for them)
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mipv6d_testlib import (  # noqa: E402
    BU_A, IPPROTO_ICMPV6, IPPROTO_UDP, MH_BA, MH_BE, MH_COT, MH_COTI, MH_HOT, MH_HOTI,
    NamespaceTestCase, OPT_BAD, add_address, binding_authenticator, binding_update,
    checksum_valid, frame, home_address_option_header, icmpv6, in_netns, init_message, kbm,
    main, mh_packet, mobility, mobility_header, parse, raw_ipv6, run, snapshot, traces, veth,
    wait_local_route, wait_operational, wait_until)

CN = "2001:db8:3::1"
PEER = "2001:db8:3::2"
HOME = "2001:db8:1::100"
COA = "2001:db8:2::100"
CN_MAC = "02:00:00:00:03:01"
PEER_MAC = "02:00:00:00:03:02"
MAX_RR_BINDING_LIFETIME = 420  # RFC 6275 §12

CONFIG = """
[node]
roles = ["correspondent"]
control_socket = "@SOCKET@"
state_file = "@STATE@"
log_level = "debug"

[correspondent]
route_optimization = true
"""


class CorrespondentTestCase(NamespaceTestCase):
    CONFIG = CONFIG

    def setUp(self):
        super().setUp()
        self.cn = self.namespace("cn")
        self.peer = self.namespace("peer")
        veth(self.cn, "eth0", CN_MAC, self.peer, "mn0", PEER_MAC)
        add_address(self.cn, "eth0", CN + "/64")
        for prefix in ("2001:db8:1::/64", "2001:db8:2::/64"):
            run("ip", "-n", self.cn, "-6", "route", "add", prefix, "dev", "eth0")
        for address in (PEER, HOME, COA):
            add_address(self.peer, "mn0", address + "/64")
        wait_operational(self.cn, "eth0")
        wait_operational(self.peer, "mn0")
        wait_local_route(self.cn, CN)
        wait_local_route(self.peer, COA)
        self.before = snapshot(self.cn)
        self.daemon = self.new_daemon(self.cn, "cn", self.CONFIG).start()
        self.port = self.open_port(self.peer, "mn0")

    # -- the mobile node's side of return routability (§5.2.5)

    def send(self, packet):
        self.port.send(frame(PEER_MAC, CN_MAC, packet))

    def expect_mh(self, mh_type, what, timeout=3.0, extra=lambda parsed, mh: True):
        def predicate(f):
            found = mobility(f)
            return found is not None and found[1].type == mh_type and extra(*found)
        return mobility(self.port.expect(predicate, timeout=timeout, what=what))

    def home_test(self, cookie=b"HoTI-c00"):
        self.send(mh_packet(HOME, CN, init_message(MH_HOTI, cookie, HOME, CN)))
        return self.expect_mh(MH_HOT, "Home Test",
                              extra=lambda parsed, mh: mh.cookie == cookie)

    def care_of_test(self, cookie=b"CoTI-c01"):
        self.send(mh_packet(COA, CN, init_message(MH_COTI, cookie, COA, CN)))
        return self.expect_mh(MH_COT, "Care-of Test",
                              extra=lambda parsed, mh: mh.cookie == cookie)

    def bind(self, sequence=100, lifetime_units=50, key_override=None):
        """Return routability then a Binding Update with its authenticator (§5.2.6)."""
        _, hot = self.home_test()
        _, cot = self.care_of_test()
        key = kbm(hot.token, cot.token)
        mh = binding_update(sequence, BU_A, lifetime_units,
                            nonce_indices=(hot.nonce_index, cot.nonce_index),
                            authenticator_key=key_override or key, care_of=COA,
                            correspondent=CN, source=HOME, destination=CN)
        self.port.drain()
        self.send(mh_packet(COA, CN, mh, home_address=HOME))
        self.home_token = hot
        return key

    def expect_ba(self, sequence):
        return self.expect_mh(MH_BA, "Binding Acknowledgement",
                              extra=lambda parsed, mh: mh.sequence == sequence)


class ReturnRoutabilityTest(CorrespondentTestCase):
    def test_home_test_init_gets_home_test_with_the_same_cookie_9_4_1(self):
        parsed, hot = self.home_test(b"\x01\x02\x03\x04\x05\x06\x07\x08")
        self.assertEqual(parsed.source, CN)
        self.assertEqual(parsed.destination, HOME, "§9.4.3: to the HoTI's source")
        self.assertIsNone(parsed.rh2)
        self.assertIsNone(parsed.home_address)
        self.assertEqual(hot.payload_proto, 59)
        self.assertEqual(hot.header_len, 2, "§6.1.5: 24 octets")
        self.assertEqual(hot.cookie, b"\x01\x02\x03\x04\x05\x06\x07\x08")
        self.assertEqual(len(hot.token), 8)
        self.assertTrue(checksum_valid(parsed), parsed.raw.hex())
        stats = self.daemon.stats("correspondent")
        self.assertEqual((stats["hoti_received"], stats["hot_sent"]), (1, 1), stats)

    def test_care_of_test_init_gets_care_of_test_with_the_same_cookie_9_4_2(self):
        parsed, cot = self.care_of_test(b"abcdefgh")
        self.assertEqual(parsed.source, CN)
        self.assertEqual(parsed.destination, COA, "§9.4.4: to the CoTI's source")
        self.assertIsNone(parsed.rh2)
        self.assertEqual(cot.header_len, 2)
        self.assertEqual(cot.cookie, b"abcdefgh")
        self.assertTrue(checksum_valid(parsed), parsed.raw.hex())
        stats = self.daemon.stats("correspondent")
        self.assertEqual((stats["coti_received"], stats["cot_sent"]), (1, 1), stats)

    def test_authorized_binding_update_gets_ba_0_with_its_own_authenticator_9_5_4(self):
        key = self.bind(sequence=100, lifetime_units=50)
        parsed, ba = self.expect_ba(100)
        self.assertEqual(parsed.source, CN)
        self.assertEqual(parsed.destination, COA)
        self.assertEqual(parsed.rh2, (1, HOME, 2), "§6.4: Type 2 RH with the home address")
        self.assertTrue(checksum_valid(parsed), parsed.raw.hex())
        self.assertEqual(ba.status, 0, ba)
        self.assertEqual(ba.sequence, 100)
        self.assertGreater(ba.lifetime_units, 0)
        self.assertLessEqual(ba.lifetime_units, 50, "no longer than asked (§9.5.1)")
        self.assertLessEqual(ba.lifetime_units * 4, MAX_RR_BINDING_LIFETIME, "§5.2.5, §12")
        # §6.1.8, §6.2.7: the BA carries Binding Authorization Data, computed with Kbm over
        # care-of address | correspondent | BA (Checksum zero, Authenticator excluded), last.
        authenticator = ba.option(OPT_BAD)
        self.assertIsNotNone(authenticator, "Binding Authorization Data in the BA: %r" % ba)
        self.assertEqual(ba.options[-1][0], OPT_BAD, "the authorization option comes last")
        self.assertEqual(ba.options[-1][2] % 8, 2, "8n+2 alignment")
        self.assertEqual(authenticator, binding_authenticator(key, COA, CN, ba.raw))

        bindings = self.daemon.bindings()
        self.assertEqual(len(bindings), 1, bindings)
        binding = bindings[0]
        self.assertEqual(binding["home_address"], HOME)
        self.assertEqual(binding["care_of_address"], COA)
        self.assertEqual(binding["sequence"], 100)
        # H, L and K were clear. The correspondent does not keep A (it only asked for this
        # BA, §6.1.7), while the home agent always shows it: either spelling is accepted.
        self.assertIn(binding["flags"], ("", "A"))
        self.assertIs(binding["home_registration"], False)
        self.assertEqual(binding["role"], "correspondent")
        self.assertLessEqual(binding["lifetime_s"], ba.lifetime_units * 4)
        self.assertGreater(binding["lifetime_s"], 0)

    def test_binding_update_with_a_wrong_authenticator_is_discarded_9_5_1(self):
        self.bind(sequence=5, key_override=b"\x55" * 20)
        unwanted = self.port.expect_none(
            lambda f: mobility(f) is not None and mobility(f)[1].type == MH_BA, timeout=1.0)
        self.assertIsNone(unwanted, "§9.5.1: silently discarded, no BA")
        self.assertEqual(self.daemon.bindings(), [])
        stats = self.daemon.stats("correspondent")
        self.assertEqual(stats["bu_bad_authenticator"], 1, stats)


class RouteOptimizationTest(CorrespondentTestCase):
    def test_packets_to_a_bound_home_address_leave_with_a_type_2_routing_header_9_3_2(self):
        self.bind()
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        payload = b"route optimised from the correspondent"
        with in_netns(self.cn):
            sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            sender.sendto(payload, (HOME, 9999))

            def optimised(f):
                p = parse(f)
                return p.protocol == IPPROTO_UDP and p.upper.endswith(payload)
            got = self.port.expect(optimised, timeout=3, what="the UDP datagram with RH2")
        finally:
            sender.close()
        p = parse(got)
        self.assertEqual(p.source, CN)
        self.assertEqual(p.destination, COA, "§9.3.2: sent to the care-of address")
        self.assertEqual(p.rh2, (1, HOME, 2), "§6.4: the home address in a Type 2 RH")
        self.assertIsNone(p.home_address)
        self.assertEqual(struct.unpack("!H", p.upper[2:4])[0], 9999)
        self.assertTrue(checksum_valid(p), "UDP checksum over the home address (§6.4)")

    def test_echo_request_with_a_home_address_option_is_answered_via_the_binding_9_3_1(self):
        self.bind()
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        self.port.drain()
        echo = icmpv6(128, 0, struct.pack("!HH", 0x77, 3) + b"ping via HAO", HOME, CN)
        self.send(raw_ipv6(COA, CN, IPPROTO_ICMPV6, echo,
                           extension=home_address_option_header(IPPROTO_ICMPV6, HOME)))

        def reply(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 129
        p = parse(self.port.expect(reply, timeout=3, what="Echo Reply"))
        self.assertEqual(p.source, CN)
        self.assertEqual(p.destination, COA)
        self.assertEqual(p.rh2, (1, HOME, 2))
        self.assertEqual(p.upper[4:], struct.pack("!HH", 0x77, 3) + b"ping via HAO")
        self.assertTrue(checksum_valid(p), p.raw.hex())
        stats = self.daemon.stats("correspondent")
        self.assertGreaterEqual(stats["hao_accepted"], 1, stats)

    def test_home_address_option_without_a_binding_gets_binding_error_1_9_3_3(self):
        echo = icmpv6(128, 0, struct.pack("!HH", 0x78, 1) + b"no binding", HOME, CN)
        self.send(raw_ipv6(COA, CN, IPPROTO_ICMPV6, echo,
                           extension=home_address_option_header(IPPROTO_ICMPV6, HOME)))
        parsed, be = self.expect_mh(MH_BE, "Binding Error")
        self.assertEqual(parsed.source, CN)
        self.assertEqual(parsed.destination, COA, "§9.3.3: to the packet's source address")
        self.assertIsNone(parsed.rh2)
        self.assertIsNone(parsed.home_address)
        self.assertTrue(checksum_valid(parsed), parsed.raw.hex())
        self.assertEqual(be.status, 1, "§6.1.9: unknown binding for Home Address option")
        self.assertEqual(be.home_address, HOME)
        self.assertEqual(be.header_len, 2)
        self.assertIsNone(self.port.expect_none(
            lambda f: parse(f).protocol == IPPROTO_ICMPV6 and parse(f).upper[0] == 129,
            timeout=0.5), "the packet must be dropped, not answered")
        stats = self.daemon.stats("correspondent")
        self.assertGreaterEqual(stats["be_sent"], 1, stats)
        self.assertGreaterEqual(stats["hao_no_binding"], 1, stats)


class BindingLifeTest(CorrespondentTestCase):
    def test_home_address_option_from_another_care_of_address_gets_binding_error_9_3_1(self):
        self.bind()
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        other = "2001:db8:2::200"
        add_address(self.peer, "mn0", other + "/64")
        echo = icmpv6(128, 0, struct.pack("!HH", 0x79, 1) + b"wrong care-of", HOME, CN)
        self.port.drain()
        self.send(raw_ipv6(other, CN, IPPROTO_ICMPV6, echo,
                           extension=home_address_option_header(IPPROTO_ICMPV6, HOME)))
        parsed, be = self.expect_mh(MH_BE, "Binding Error")
        self.assertEqual(parsed.destination, other)
        self.assertEqual(be.status, 1, "§9.3.1: the care-of address must be the source")
        self.assertEqual(be.home_address, HOME)
        self.assertTrue(checksum_valid(parsed))
        self.assertIsNone(self.port.expect_none(
            lambda f: parse(f).protocol == IPPROTO_ICMPV6 and parse(f).upper[0] == 129,
            timeout=0.5), "dropped, not answered")

    def test_deregistration_from_home_deletes_the_binding_5_2_5(self):
        self.bind(sequence=100)
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        hot = self.home_token
        # §5.2.5: deleting a binding, Kbm = SHA-1(home keygen token); §6.2.7: the home address
        # stands for the care-of address; §6.2.6: the care-of nonce index is ignored.
        key = kbm(hot.token)
        mh = binding_update(101, BU_A, 0, nonce_indices=(hot.nonce_index, 0),
                            authenticator_key=key, care_of=HOME, correspondent=CN,
                            source=HOME, destination=CN)
        self.port.drain()
        self.send(mh_packet(HOME, CN, mh))
        parsed, ba = self.expect_ba(101)
        self.assertEqual(ba.status, 0, ba)
        self.assertEqual(parsed.destination, HOME)
        self.assertIsNone(parsed.rh2, "sent to the home address itself")
        self.assertTrue(checksum_valid(parsed))
        self.assertEqual(ba.option(OPT_BAD), binding_authenticator(key, HOME, CN, ba.raw))
        self.assertEqual(self.daemon.bindings(), [])
        wait_until(lambda: HOME not in run("ip", "-n", self.cn, "-6", "route", "show", "table",
                                           "1093"), timeout=2, what="the binding's route gone")


class MobilityHeaderChecksTest(CorrespondentTestCase):
    def expect_parameter_problem(self, pointer):
        def problem(f):
            p = parse(f)
            return p.protocol == IPPROTO_ICMPV6 and p.upper[0] == 4
        p = parse(self.port.expect(problem, timeout=3, what="ICMPv6 Parameter Problem"))
        self.assertEqual(p.source, CN)
        self.assertEqual(p.destination, HOME, "§9.2: directly to the Source Address")
        self.assertIsNone(p.rh2, "no Binding Cache information used")
        self.assertEqual(p.upper[1], 0, "code 0, erroneous header field")
        self.assertEqual(struct.unpack("!I", p.upper[4:8])[0], pointer)
        self.assertTrue(checksum_valid(p))
        return p

    def test_unknown_mh_type_gets_binding_error_2_9_2(self):
        self.send(mh_packet(HOME, CN, mobility_header(42, b"\0" * 10, source=HOME,
                                                      destination=CN)))
        parsed, be = self.expect_mh(MH_BE, "Binding Error")
        self.assertEqual(parsed.destination, HOME)
        self.assertEqual(be.status, 2, "§9.2: unrecognized MH Type value")
        self.assertTrue(checksum_valid(parsed))
        stats = self.daemon.stats("correspondent")
        self.assertEqual(stats["mh_unknown_type"], 1, stats)

    def test_payload_proto_not_59_gets_parameter_problem_at_that_field_9_2(self):
        mh = mobility_header(MH_HOTI, b"\0\0" + b"cookie!!", source=HOME, destination=CN,
                             payload_proto=6)
        self.send(mh_packet(HOME, CN, mh))
        self.expect_parameter_problem(pointer=40)
        stats = self.daemon.stats("correspondent")
        self.assertEqual(stats["mh_bad_payload_proto"], 1, stats)
        self.assertEqual(stats["hot_sent"], 0, stats)

    def test_header_len_too_short_gets_parameter_problem_at_that_field_9_2(self):
        # A HoTI is 16 octets (Header Len 1); this one says 8.
        mh = mobility_header(MH_HOTI, b"\0\0", source=HOME, destination=CN)
        self.send(mh_packet(HOME, CN, mh))
        self.expect_parameter_problem(pointer=41)
        stats = self.daemon.stats("correspondent")
        self.assertEqual(stats["mh_bad_header_len"], 1, stats)

    def test_bad_checksum_is_silently_discarded_9_2(self):
        mh = init_message(MH_HOTI, b"badsum!!", HOME, CN)
        mh = mh[:4] + bytes([mh[4] ^ 0xFF, mh[5]]) + mh[6:]
        self.send(mh_packet(HOME, CN, mh))
        self.assertIsNone(self.port.expect_none(
            lambda f: mobility(f) is not None or parse(f).protocol == IPPROTO_ICMPV6 and
            parse(f).upper[0] < 128, timeout=1.0), "no answer to a bad checksum")
        self.assertTrue(self.daemon.running())


class RouteOptimizationDisabledTest(CorrespondentTestCase):
    CONFIG = CONFIG.replace("route_optimization = true", "route_optimization = false")

    def test_return_routability_is_not_answered_when_disabled_8_2(self):
        self.send(mh_packet(HOME, CN, init_message(MH_HOTI, b"disabled", HOME, CN)))
        self.assertIsNone(self.port.expect_none(
            lambda f: mobility(f) is not None and mobility(f)[1].type == MH_HOT, timeout=1.0),
            "§8.2: no Home Test when route optimization is off")
        stats = self.daemon.stats("correspondent")
        self.assertGreaterEqual(stats["mh_route_optimization_disabled"], 1, stats)
        self.assertEqual(stats["hot_sent"], 0, stats)


class ShutdownTest(CorrespondentTestCase):
    def test_sigterm_with_a_binding_leaves_no_trace(self):
        self.bind()
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        routes = run("ip", "-n", self.cn, "-6", "route", "show", "table", "1093")
        self.assertIn(HOME, routes, "the binding's route into the correspondent's TUN")
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.cn, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.cn), daemon=self.daemon)
        self.assertFalse(os.path.exists(self.daemon.state_file))

    def test_restart_after_kill_9_cleans_up_what_the_crashed_one_left(self):
        self.bind()
        self.assertEqual(self.expect_ba(100)[1].status, 0)
        self.daemon.kill9()
        left = traces(self.cn)
        self.assertTrue(any(line.startswith("rule 1003") for line in left), left)
        restarted = self.new_daemon(self.cn, "cn", CONFIG)
        restarted.log_path = os.path.join(self.workdir, "restarted.log")
        restarted.start()
        self.assertIn("previous mipv6d", restarted.log())
        self.assertEqual(restarted.bindings(), [])
        self.assertEqual(restarted.stop(), 0, restarted.log())
        self.assertNoTraces(self.cn, restarted)
        self.assertSnapshotEqual(self.before, snapshot(self.cn), daemon=restarted)


if __name__ == "__main__":
    main()
