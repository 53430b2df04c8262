#!/usr/bin/python3
"""Interop for the packet layer (issue 2): scapy-built packets decoded by `mipv6-pcap decode`,
and packets built by `mipv6-pcap encode` decoded by tshark (no malformed packets, no expert
warnings) and re-checksummed by scapy. Shapes: Hop-by-Hop, Destination Options with the Home
Address option (RFC 6275 §6.3), Type 2 Routing header (§6.4), type 0 Routing, Fragment, AH,
ESP, IPv6-in-IPv6 (RFC 2473), UDP with a HAO (checksum over the home address, §11.3.1)."""
import json
import logging
import os
import socket
import struct
import tempfile
import unittest
import warnings

warnings.filterwarnings("ignore")
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from interop_common import (CN, COA, HA, HOA, TOOL, WARNING_SEVERITY, Pairs,  # noqa: E402,F401
                             decode, encode, run_tool, tshark)
from scapy.all import (AH, ESP, UDP, HAO, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                       ICMPv6EchoRequest, Raw, RouterAlert, rdpcap, wrpcap)



def internet_checksum(data):
    """RFC 1071, written out independently of both scapy and our code."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def options(header):
    return [o for o in header["options"] if o["type"] not in ("pad1", "padn")]


class ScapyToUs(unittest.TestCase):
    """Packets built by scapy; our decoder must agree on every field."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_header_fields_and_hop_by_hop(self):
        p = (IPv6(src=CN, dst=HOA, tc=0xb8, fl=0xabcde, hlim=7)
             / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / UDP(sport=5, dport=6) / Raw(b"x"))
        [d] = decode(self.tmp.name, [p])
        self.assertNotIn("error", d)
        self.assertEqual(d["ipv6"], {"version": 6, "traffic_class": 0xb8, "flow_label": 0xabcde,
                                     "payload_length": len(p) - 40, "next_header": 0,
                                     "hop_limit": 7, "source": CN, "destination": HOA})
        [hbh] = d["extension_headers"]
        self.assertEqual((hbh["type"], hbh["next_header"], hbh["offset"]), ("hop_by_hop", 17, 40))
        self.assertEqual(options(hbh), [{"type": "unknown", "option_type": 5, "length": 2,
                                         "data": "0000"}])
        self.assertEqual(d["udp"]["source_port"], 5)
        self.assertTrue(d["udp"]["checksum_valid"])

    def test_udp_with_hao_checksum_over_home_address(self):
        p = IPv6(src=COA, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / UDP(sport=1, dport=2) / Raw(b"hi")
        [d] = decode(self.tmp.name, [p])
        [dest] = d["extension_headers"]
        self.assertEqual(dest["type"], "destination_options")
        self.assertEqual(dest["hdr_ext_len"], 2)
        self.assertEqual(options(dest), [{"type": "home_address", "option_type": 201,
                                          "length": 16, "home_address": HOA}])
        self.assertEqual(d["pseudo_header"], {"source": HOA, "destination": CN})
        self.assertEqual(d["udp"]["checksum"], p[UDP].chksum if p[UDP].chksum else
                         IPv6(bytes(p))[UDP].chksum)
        self.assertTrue(d["udp"]["checksum_valid"])

    def test_type2_routing_header(self):
        p = (IPv6(src=CN, dst=COA) / IPv6ExtHdrRouting(type=2, addresses=[HOA], segleft=1)
             / ICMPv6EchoRequest(id=3, seq=4))
        [d] = decode(self.tmp.name, [p])
        [rh] = d["extension_headers"]
        self.assertEqual({k: rh[k] for k in ("type", "routing_type", "segments_left",
                                             "hdr_ext_len", "home_address", "reserved")},
                         {"type": "routing", "routing_type": 2, "segments_left": 1,
                          "hdr_ext_len": 2, "home_address": HOA, "reserved": 0})
        self.assertEqual(d["pseudo_header"], {"source": CN, "destination": HOA})
        self.assertTrue(d["icmpv6"]["checksum_valid"])

    def test_type0_routing_header(self):
        hops = ["2001:db8::a", "2001:db8::b"]
        p = IPv6(src=CN, dst=HA) / IPv6ExtHdrRouting(type=0, addresses=hops, segleft=2) / UDP()
        [d] = decode(self.tmp.name, [p])
        [rh] = d["extension_headers"]
        self.assertEqual((rh["routing_type"], rh["segments_left"], rh["addresses"]), (0, 2, hops))
        # RFC 8200 §8.1: the final destination is the last address.
        self.assertEqual(d["pseudo_header"]["destination"], hops[-1])
        self.assertTrue(d["udp"]["checksum_valid"])

    def test_fragments(self):
        first = (IPv6(src=CN, dst=HA) / IPv6ExtHdrFragment(id=0x1234, m=1, offset=0, nh=17)
                 / Raw(b"\x00" * 16))
        later = IPv6(src=CN, dst=HA) / IPv6ExtHdrFragment(id=0x1234, m=0, offset=2, nh=17) / Raw(b"z" * 8)
        d1, d2 = decode(self.tmp.name, [first, later])
        f1, f2 = d1["extension_headers"][0], d2["extension_headers"][0]
        self.assertEqual((f1["fragment_offset"], f1["flags"], f1["identification"]),
                         (0, {"M": True}, 0x1234))
        self.assertEqual((f2["fragment_offset"], f2["flags"], f2["next_header"]),
                         (2, {"M": False}, 17))
        self.assertEqual(d2["payload"], {"protocol": 17, "length": 8, "data": "7a" * 8})
        self.assertNotIn("udp", d1)  # an incomplete datagram is not decoded as UDP

    def test_ah_and_esp(self):
        ah = IPv6(src=COA, dst=HA) / AH(nh=17, payloadlen=4, spi=0x101, seq=9, icv=b"\xab" * 12) / UDP()
        esp = (IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)])
               / ESP(spi=0x202, seq=10, data=b"opaque"))
        d1, d2 = decode(self.tmp.name, [ah, esp])
        a = d1["extension_headers"][0]
        self.assertEqual((a["type"], a["spi"], a["sequence_number"], a["icv"], a["payload_len"]),
                         ("authentication_header", 0x101, 9, "ab" * 12, 4))
        e = d2["extension_headers"][1]
        self.assertEqual((e["type"], e["spi"], e["sequence_number"], e["data"]),
                         ("esp", 0x202, 10, b"opaque".hex()))
        self.assertNotIn("error", d2)

    def test_ipv6_in_ipv6(self):
        p = (IPv6(src=HA, dst=COA, tc=0x10, fl=0x54321, hlim=200)
             / IPv6(src=CN, dst=HOA, hlim=63) / ICMPv6EchoRequest(id=1, seq=1))
        [d] = decode(self.tmp.name, [p])
        self.assertEqual((d["ipv6"]["next_header"], d["ipv6"]["flow_label"],
                          d["ipv6"]["traffic_class"]), (41, 0x54321, 0x10))
        inner = d["inner"]
        self.assertEqual((inner["ipv6"]["source"], inner["ipv6"]["destination"],
                          inner["ipv6"]["hop_limit"]), (CN, HOA, 63))
        self.assertTrue(inner["icmpv6"]["checksum_valid"])

    def test_broken_packet_reports_error_offset(self):
        raw = bytearray(bytes(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)])
                              / UDP()))
        raw[41] = 5  # Hdr Ext Len past the end of the packet
        [d] = decode(self.tmp.name, [IPv6(bytes(raw))])
        self.assertEqual(d["error"], {"code": "bad_length", "offset": 41})


SHAPES = [
    {"ipv6": {"source": COA, "destination": CN, "traffic_class": 0xb8, "flow_label": 0x12345,
              "hop_limit": 9},
     "extension_headers": [{"type": "destination_options",
                            "options": [{"type": "home_address", "home_address": HOA}]}],
     "udp": {"source_port": 49152, "destination_port": 49153, "data": "68656c6c6f"}},
    {"ipv6": {"source": CN, "destination": COA},
     "extension_headers": [{"type": "routing", "routing_type": 2, "home_address": HOA}],
     "udp": {"source_port": 49153, "destination_port": 49152, "data": "00"}},
    {"ipv6": {"source": CN, "destination": HA},
     "extension_headers": [{"type": "hop_by_hop", "options": [{"type": "unknown", "option_type": 5, "data": "0000"}]},
                           {"type": "routing", "routing_type": 0, "segments_left": 0,
                            "addresses": ["2001:db8::a"]}],
     "udp": {"source_port": 49154, "destination_port": 49155, "data": ""}},
    {"ipv6": {"source": CN, "destination": HA},
     "extension_headers": [{"type": "fragment", "identification": 77, "fragment_offset": 0,
                            "flags": {"M": True}}],
     "payload": {"protocol": 17, "data": "c010c01100100000" + "00" * 8}},
    {"ipv6": {"source": COA, "destination": HA},
     "extension_headers": [{"type": "authentication_header", "spi": 0x100, "sequence_number": 1,
                            "icv": "00" * 12}],
     "udp": {"source_port": 49156, "destination_port": 49157, "data": "abcd"}},
    {"ipv6": {"source": COA, "destination": HA},
     "extension_headers": [{"type": "esp", "spi": 0x300, "sequence_number": 2, "data": "00" * 16}]},
    {"ipv6": {"source": COA, "destination": HA, "flow_label": 1},
     "inner": {"ipv6": {"source": HOA, "destination": CN, "hop_limit": 63},
               "udp": {"source_port": 49158, "destination_port": 49159, "data": "ff"}}},
]


class UsToTshark(unittest.TestCase):
    """Packets we build; tshark must decode the same fields with no warnings, and scapy must
    compute the same checksums."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pcap = encode(cls.tmp.name, SHAPES)
        cls.fields = tshark(cls.pcap)
        cls.scapy = rdpcap(cls.pcap)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_no_malformed_or_expert_warnings(self):
        self.assertEqual(len(self.fields), len(SHAPES))
        for i, f in enumerate(self.fields):
            self.assertNotIn("_ws.malformed", f, i)
            severities = [int(s) for s in f.get("_ws.expert.severity", [])]
            self.assertFalse([s for s in severities if s >= WARNING_SEVERITY],
                             (i, f.get("_ws.expert.message")))

    def test_header_fields(self):
        f = self.fields[0]
        self.assertEqual(f["ipv6.src"], [COA])
        self.assertEqual(int(f["ipv6.flow"][0], 16), 0x12345)
        self.assertEqual(int(f["ipv6.tclass"][0], 16), 0xb8)
        self.assertEqual(f["ipv6.hlim"], ["9"])
        self.assertEqual(f["ipv6.opt.mipv6.home_address"], [HOA])

    def test_type2_routing_header(self):
        f = self.fields[1]
        self.assertEqual(f["ipv6.routing.type"], ["2"])
        self.assertEqual(f["ipv6.routing.segleft"], ["1"])
        self.assertEqual(f["ipv6.routing.mipv6.home_address"], [HOA])

    def test_fragment_header(self):
        f = self.fields[3]
        self.assertEqual(f["ipv6.fraghdr.ident"], ["0x0000004d"])
        self.assertEqual(f["ipv6.fraghdr.more"], ["1"])
        self.assertEqual(f["ipv6.fraghdr.offset"], ["0"])

    def test_ah_esp_and_tunnel(self):
        self.assertEqual(int(self.fields[4]["ah.spi"][0], 16), 0x100)
        self.assertEqual(int(self.fields[5]["esp.spi"][0], 16), 0x300)
        self.assertEqual(self.fields[6]["ipv6.src"], [COA, HOA])

    def test_scapy_builds_the_same_hao_packet(self):
        # scapy uses the HAO in the pseudo-header only when it is the sole option it was given
        # (MIPV6-FACTS §11.2 quirk 4), so let it pad the HAO itself and compare whole packets.
        s = SHAPES[0]
        theirs = (IPv6(src=COA, dst=CN, tc=0xb8, fl=0x12345, hlim=9)
                  / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)])
                  / UDP(sport=49152, dport=49153) / Raw(bytes.fromhex(s["udp"]["data"])))
        self.assertEqual(bytes(self.scapy[0]).hex(), bytes(theirs).hex())

    def test_scapy_recomputes_our_checksums(self):
        for index in (1, 2, 6):
            original = self.scapy[index]
            udp = original[UDP]
            ours = udp.chksum
            del udp.chksum
            rebuilt = IPv6(bytes(original))
            self.assertEqual(rebuilt[UDP].chksum, ours, index)

    def test_ah_packet_matches_scapy_and_hand_checksum(self):
        # scapy neither dissects past AH nor checksums a UDP under it: compare the rest of the
        # bytes with scapy's, and the checksum with an RFC 1071 sum done here.
        theirs = bytearray(bytes(IPv6(src=COA, dst=HA)
                                 / AH(nh=17, payloadlen=4, spi=0x100, seq=1, icv=b"\0" * 12)
                                 / UDP(sport=49156, dport=49157, chksum=0) / Raw(b"\xab\xcd")))
        udp = bytes(theirs[64:])
        pseudo = (socket.inet_pton(socket.AF_INET6, COA) + socket.inet_pton(socket.AF_INET6, HA)
                  + struct.pack("!I3xB", len(udp), 17))
        theirs[70:72] = struct.pack("!H", internet_checksum(pseudo + udp))
        self.assertEqual(bytes(self.scapy[4]).hex(), bytes(theirs).hex())

    def test_ethernet_link(self):
        path = encode(self.tmp.name, SHAPES[:1], link="ethernet")
        [f] = tshark(path)
        self.assertEqual(f["eth.type"], ["0x86dd"])
        self.assertEqual(f["ipv6.opt.mipv6.home_address"], [HOA])


class Cli(unittest.TestCase):
    def test_round_trip_decode_encode_is_byte_exact(self):
        with tempfile.TemporaryDirectory() as tmp:
            first = encode(tmp, SHAPES)
            decoded = run_tool("decode", first).stdout.splitlines()
            again = os.path.join(tmp, "again.pcap")
            src = os.path.join(tmp, "decoded.jsonl")
            with open(src, "w") as f:
                f.write("\n".join(decoded) + "\n")
            self.assertEqual(run_tool("encode", src, again).returncode, 0)
            self.assertEqual([bytes(p) for p in rdpcap(first)], [bytes(p) for p in rdpcap(again)])

    def test_encode_error_names_line_and_key(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "bad.jsonl")
            with open(src, "w") as f:
                f.write("# comment\n" + json.dumps(SHAPES[1]) + "\n")
                f.write(json.dumps({"ipv6": {"source": "nope", "destination": HA}}) + "\n")
            result = run_tool("encode", src, os.path.join(tmp, "x.pcap"))
            self.assertEqual(result.returncode, 2)
            self.assertIn("bad.jsonl:3: ipv6.source:", result.stderr)

    def test_bad_file_and_usage(self):
        with tempfile.TemporaryDirectory() as tmp:
            junk = os.path.join(tmp, "junk.pcap")
            with open(junk, "wb") as f:
                f.write(b"not a capture at all, definitely")
            self.assertEqual(run_tool("decode", junk).returncode, 2)
        self.assertEqual(run_tool("frobnicate").returncode, 2)
        self.assertEqual(run_tool().returncode, 2)
        self.assertEqual(run_tool("--help").returncode, 0)

    def test_hex_command(self):
        raw = bytes(IPv6(src=CN, dst=HOA) / UDP(sport=1, dport=2)).hex()
        result = run_tool("hex", raw)
        self.assertEqual(result.returncode, 0)
        self.assertTrue(json.loads(result.stdout)["udp"]["checksum_valid"])

    def test_garbage_never_crashes(self):
        with tempfile.TemporaryDirectory() as tmp:
            import random
            rng = random.Random(6275)
            base = bytes(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)])
                         / IPv6ExtHdrRouting(type=2, addresses=[HOA]) / UDP() / Raw(b"abc"))
            packets = []
            for _ in range(300):
                b = bytearray(base[:rng.randrange(1, len(base) + 1)])
                for _ in range(rng.randrange(1, 5)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
                packets.append(Raw(bytes(b)))
            path = os.path.join(tmp, "garbage.pcap")
            wrpcap(path, packets, linktype=229)  # Raw packets: say they are raw IPv6
            result = run_tool("decode", path)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(len(result.stdout.splitlines()), 300)


if __name__ == "__main__":
    unittest.main()
