#!/usr/bin/python3
"""Wire interop for the ICMPv6 codec (RFC 4443, RFC 4861, RFC 6275 §6.5-§6.8, §7).

1. scapy 2.5.0 builds every message and ND option with non-default values -> `mipv6-pcap decode`
   must report the same field values and a valid checksum (MPS with a Home Address option and
   MPA with a type 2 routing header included: their checksums use the home address).
2. `mipv6-pcap encode` builds every message and option -> tshark 4.0.17 must show the same
   values, checksum status Good, and no malformed packet or expert warning.

Run as a script; MIPV6_PCAP names the mipv6-pcap binary (ctest sets it).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

warnings.filterwarnings("ignore")
import logging  # noqa: E402

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (  # noqa: E402
    HAO, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, ICMPv6DestUnreach, ICMPv6EchoReply,
    ICMPv6EchoRequest, ICMPv6HAADReply, ICMPv6HAADRequest, ICMPv6MPAdv, ICMPv6MPSol,
    ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect, ICMPv6ND_RS, ICMPv6NDOptAdvInterval,
    ICMPv6NDOptDstLLAddr, ICMPv6NDOptHAInfo, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRedirectedHdr, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptUnknown, ICMPv6PacketTooBig,
    ICMPv6ParamProblem, ICMPv6TimeExceeded, ICMPv6Unknown, UDP, raw, wrpcap)

MIPV6_PCAP = os.environ.get("MIPV6_PCAP", "")

LL = "fe80::1"
ALL_NODES = "ff02::1"
COA = "2001:db8:99::5"
HA = "2001:db8:1::1"
HA2 = "2001:db8:1::2"
HOA = "2001:db8:1::1000"
ANYCAST = "2001:db8:1::fdff:ffff:ffff:fffe"  # RFC 2526 §2 Home-Agents anycast for the /64
MAC = "02:00:00:00:00:01"
MAC_HEX = "020000000001"

# An invoking packet / redirected header: a complete IPv6 header with no payload.
INVOKING = IPv6(src=HOA, dst="2001:db8:5::5", nh=59, hlim=3, plen=0)
INVOKING_HEX = raw(INVOKING).hex()


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


def assert_subset(test, actual, expected, path):
    """Every key/value of `expected` appears in `actual` (lists: same length, element-wise)."""
    if isinstance(expected, dict):
        test.assertIsInstance(actual, dict, f"{path}: expected an object, got {actual!r}")
        for key, value in expected.items():
            test.assertIn(key, actual, f"{path}.{key}: missing in {json.dumps(actual)}")
            assert_subset(test, actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        test.assertIsInstance(actual, list, f"{path}: expected a list, got {actual!r}")
        test.assertEqual(len(actual), len(expected), f"{path}: {len(actual)} items, expected "
                         f"{len(expected)}: {json.dumps(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_subset(test, a, e, f"{path}[{i}]")
    else:
        test.assertEqual(actual, expected, f"{path}: got {actual!r}, expected {expected!r}")


# ----------------------------------------------------------------------- scapy -> mipv6-pcap

def pio_scapy():
    return ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=0, R=1, res1=5, validlifetime=7200,
                                 preferredlifetime=3600, res2=0x01020304, prefix=HA)


PIO_JSON = {"type": "prefix_information", "option_type": 3, "length": 4, "prefix_length": 64,
            "flags": {"L": True, "A": False, "R": True}, "reserved1": 5,
            "valid_lifetime": 7200, "preferred_lifetime": 3600, "reserved2": 0x01020304,
            "prefix": HA}


def scapy_cases():
    """(name, packet, expected "icmpv6" subset). Scapy defaults that RFC 6275 does not want
    (MIPV6-FACTS §11.2: HAAD R = 1, MPA M = 1, RA prf = 1) are set explicitly."""
    return [
        ("destination_unreachable",
         IPv6(src=HA, dst=COA) / ICMPv6DestUnreach(code=4, length=0, unused=0x123456) / INVOKING,
         {"icmp_type": 1, "type": "destination_unreachable", "code": 4, "unused": 0x123456,
          "invoking_packet": INVOKING_HEX}),
        ("packet_too_big",
         IPv6(src=HA, dst=COA) / ICMPv6PacketTooBig(mtu=1400) / INVOKING,
         {"icmp_type": 2, "type": "packet_too_big", "mtu": 1400, "invoking_packet": INVOKING_HEX}),
        ("time_exceeded",
         IPv6(src=HA, dst=COA) / ICMPv6TimeExceeded(code=1, length=0, unused=7) / INVOKING,
         {"icmp_type": 3, "type": "time_exceeded", "code": 1, "unused": 7,
          "invoking_packet": INVOKING_HEX}),
        ("parameter_problem",
         IPv6(src=HA, dst=COA) / ICMPv6ParamProblem(code=2, ptr=40) / INVOKING,
         {"icmp_type": 4, "type": "parameter_problem", "code": 2, "pointer": 40,
          "invoking_packet": INVOKING_HEX}),
        ("echo_request",
         IPv6(src=COA, dst=HA) / ICMPv6EchoRequest(id=0x1234, seq=0x4321, data=b"mipv6"),
         {"icmp_type": 128, "type": "echo_request", "identifier": 0x1234,
          "sequence_number": 0x4321, "data": b"mipv6".hex()}),
        ("echo_reply",
         IPv6(src=HA, dst=COA) / ICMPv6EchoReply(id=0xffff, seq=1, data=b"\x00\xff"),
         {"icmp_type": 129, "type": "echo_reply", "identifier": 0xffff, "sequence_number": 1,
          "data": "00ff"}),
        ("router_solicitation",
         IPv6(src=LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS(res=0x01020304) /
         ICMPv6NDOptSrcLLAddr(lladdr=MAC) /
         ICMPv6NDOptUnknown(type=200, len=1, data=b"\xaa\xbb\xcc\xdd\xee\xff"),
         {"icmp_type": 133, "type": "router_solicitation", "reserved": 0x01020304,
          "options": [{"type": "source_link_layer_address", "option_type": 1, "length": 1,
                       "link_layer_address": MAC_HEX},
                      {"type": "unknown", "option_type": 200, "length": 1,
                       "data": "aabbccddeeff"}]}),
        ("router_advertisement",
         IPv6(src=LL, dst=ALL_NODES, hlim=255) /
         ICMPv6ND_RA(chlim=64, M=1, O=1, H=1, prf=3, P=1, res=2, routerlifetime=9000,
                     reachabletime=30000, retranstimer=1000) /
         ICMPv6NDOptSrcLLAddr(lladdr=MAC) / ICMPv6NDOptMTU(res=0x0102, mtu=1500) / pio_scapy() /
         ICMPv6NDOptAdvInterval(res=0x0304, advint=90) /
         ICMPv6NDOptHAInfo(res=0x8000, pref=0xfff0, lifetime=1800),
         {"icmp_type": 134, "type": "router_advertisement", "cur_hop_limit": 64,
          "flags": {"M": True, "O": True, "H": True}, "reserved": (3 << 3) | (1 << 2) | 2,
          "router_lifetime": 9000, "reachable_time": 30000, "retrans_timer": 1000,
          "options": [{"type": "source_link_layer_address", "link_layer_address": MAC_HEX},
                      {"type": "mtu", "option_type": 5, "length": 1, "reserved": 0x0102,
                       "mtu": 1500},
                      PIO_JSON,
                      {"type": "advertisement_interval", "option_type": 7, "length": 1,
                       "reserved": 0x0304, "advertisement_interval": 90},
                      {"type": "home_agent_information", "option_type": 8, "length": 1,
                       "reserved": 0x8000, "home_agent_preference": 0xfff0,
                       "home_agent_lifetime": 1800}]}),
        ("neighbor_solicitation",
         IPv6(src="::", dst="ff02::1:ff00:1000", hlim=255) / ICMPv6ND_NS(res=0xabcdef, tgt=HOA) /
         ICMPv6NDOptSrcLLAddr(lladdr=MAC),
         {"icmp_type": 135, "type": "neighbor_solicitation", "reserved": 0xabcdef,
          "target_address": HOA,
          "options": [{"type": "source_link_layer_address", "link_layer_address": MAC_HEX}]}),
        ("neighbor_advertisement",
         IPv6(src=LL, dst=ALL_NODES, hlim=255) / ICMPv6ND_NA(R=0, S=1, O=0, res=0x12345, tgt=HOA) /
         ICMPv6NDOptDstLLAddr(lladdr=MAC),
         {"icmp_type": 136, "type": "neighbor_advertisement",
          "flags": {"R": False, "S": True, "O": False}, "reserved": 0x12345,
          "target_address": HOA,
          "options": [{"type": "target_link_layer_address", "option_type": 2, "length": 1,
                       "link_layer_address": MAC_HEX}]}),
        ("redirect",
         IPv6(src=LL, dst="fe80::5", hlim=255) /
         ICMPv6ND_Redirect(res=9, tgt="fe80::2", dst="2001:db8:5::5") /
         ICMPv6NDOptDstLLAddr(lladdr=MAC) / ICMPv6NDOptRedirectedHdr(pkt=INVOKING),
         {"icmp_type": 137, "type": "redirect", "reserved": 9, "target_address": "fe80::2",
          "destination_address": "2001:db8:5::5",
          "options": [{"type": "target_link_layer_address", "link_layer_address": MAC_HEX},
                      {"type": "redirected_header", "option_type": 4, "length": 6,
                       "reserved1": 0, "reserved2": 0, "ip_header_and_data": INVOKING_HEX}]}),
        ("dhaad_request",
         IPv6(src=COA, dst=ANYCAST) / ICMPv6HAADRequest(id=0x1234, R=0, res=0x55),
         {"icmp_type": 144, "type": "dhaad_request", "code": 0, "identifier": 0x1234,
          "reserved": 0x55}),
        ("dhaad_reply",
         IPv6(src=HA, dst=COA) / ICMPv6HAADReply(id=0x1234, R=0, res=1, addresses=[HA, HA2]),
         {"icmp_type": 145, "type": "dhaad_reply", "identifier": 0x1234, "reserved": 1,
          "home_agent_addresses": [HA, HA2]}),
        ("mobile_prefix_solicitation_with_hao",
         IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) /
         ICMPv6MPSol(id=0xbeef, res=0x0102),
         {"icmp_type": 146, "type": "mobile_prefix_solicitation", "identifier": 0xbeef,
          "reserved": 0x0102, "options": []}),
        ("mobile_prefix_advertisement_with_rh2",
         IPv6(src=HA, dst=COA) / IPv6ExtHdrRouting(type=2, addresses=[HOA], segleft=1) /
         ICMPv6MPAdv(id=0xbeef, flags=1, res=0x123) / pio_scapy(),
         {"icmp_type": 147, "type": "mobile_prefix_advertisement", "identifier": 0xbeef,
          "flags": {"M": False, "O": True}, "reserved": 0x123, "options": [PIO_JSON]}),
        ("unknown_type",
         IPv6(src=HA, dst=COA) / ICMPv6Unknown(type=200, code=3, msgbody=b"\x01\x02\x03"),
         {"icmp_type": 200, "type": "unknown", "code": 3, "message_body": "010203"}),
    ]


class ScapyToMipv6Pcap(unittest.TestCase):
    def test_every_message_and_option_decodes_with_scapys_values(self):
        cases = scapy_cases()
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "scapy.pcap")
            wrpcap(pcap, [c[1] for c in cases])
            result = run([MIPV6_PCAP, "decode", pcap])
            self.assertEqual(result.returncode, 0, f"mipv6-pcap decode failed: {result.stderr}")
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), len(cases), result.stdout)
        for (name, packet, expected), line in zip(cases, lines):
            with self.subTest(name):
                decoded = json.loads(line)
                self.assertNotIn("error", decoded, f"{name}: {line}")
                self.assertIn("icmpv6", decoded, f"{name}: no icmpv6 in {line}")
                icmp = decoded["icmpv6"]
                assert_subset(self, icmp, expected, f"{name}: icmpv6")
                message = raw(packet)[-len(raw(icmpv6_layer(packet))):]
                scapy_checksum = int.from_bytes(message[2:4], "big")
                self.assertEqual(icmp["checksum"], scapy_checksum, f"{name}: checksum field")
                self.assertIs(icmp.get("checksum_valid"), True,
                              f"{name}: checksum_valid is {icmp.get('checksum_valid')!r}")

    def test_mps_and_mpa_pseudo_header_uses_home_address_rfc6275_6_3_6_4(self):
        cases = {c[0]: c[1] for c in scapy_cases()}
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "mp.pcap")
            wrpcap(pcap, [cases["mobile_prefix_solicitation_with_hao"],
                          cases["mobile_prefix_advertisement_with_rh2"]])
            result = run([MIPV6_PCAP, "decode", pcap])
        mps, mpa = (json.loads(line) for line in result.stdout.splitlines())
        self.assertEqual(mps["ipv6"]["source"], COA)
        self.assertEqual(mps["pseudo_header"], {"source": HOA, "destination": HA})
        self.assertEqual(mpa["ipv6"]["destination"], COA)
        self.assertEqual(mpa["pseudo_header"], {"source": HA, "destination": HOA})


def icmpv6_layer(packet):
    """The packet's ICMPv6 layer (the last layer of every case: its bytes end the packet)."""
    layer = packet
    while layer and not type(layer).__name__.startswith("ICMPv6"):
        layer = layer.payload
    return layer


# --------------------------------------------------------------------- mipv6-pcap -> tshark

def packet(src, dst, icmpv6, extension_headers=None, hop_limit=64):
    line = {"ipv6": {"source": src, "destination": dst, "hop_limit": hop_limit}, "icmpv6": icmpv6}
    if extension_headers:
        line["extension_headers"] = extension_headers
    return line


PIO_OURS = {"type": "prefix_information", "prefix_length": 64,
            "flags": {"L": True, "A": True, "R": True}, "valid_lifetime": 86400,
            "preferred_lifetime": 14400, "prefix": HA}
PIO_TSHARK = {"icmpv6.opt.type": "3", "icmpv6.opt.length": "4", "icmpv6.opt.prefix.length": "64",
              "icmpv6.opt.prefix.flag.l": "1", "icmpv6.opt.prefix.flag.a": "1",
              "icmpv6.opt.prefix.flag.r": "1", "icmpv6.opt.prefix.valid_lifetime": "86400",
              "icmpv6.opt.prefix.preferred_lifetime": "14400", "icmpv6.opt.prefix": HA}


def tshark_cases():
    """(name, jsonl object, expected icmpv6 fields, expected option field groups)."""
    sllao = {"type": "source_link_layer_address", "link_layer_address": MAC}
    sllao_t = {"icmpv6.opt.type": "1", "icmpv6.opt.length": "1",
               "icmpv6.opt.src_linkaddr": MAC}
    return [
        ("destination_unreachable",
         packet(HA, COA, {"type": "destination_unreachable", "code": 3,
                          "invoking_packet": INVOKING_HEX}),
         {"icmpv6.type": "1", "icmpv6.code": "3"}, []),
        ("packet_too_big",
         packet(HA, COA, {"type": "packet_too_big", "mtu": 1400, "invoking_packet": INVOKING_HEX}),
         {"icmpv6.type": "2", "icmpv6.mtu": "1400"}, []),
        ("time_exceeded",
         packet(HA, COA, {"type": "time_exceeded", "code": 1, "invoking_packet": INVOKING_HEX}),
         {"icmpv6.type": "3", "icmpv6.code": "1"}, []),
        ("parameter_problem",
         packet(HA, COA, {"type": "parameter_problem", "code": 0, "pointer": 40,
                          "invoking_packet": INVOKING_HEX}),
         {"icmpv6.type": "4", "icmpv6.code": "0", "icmpv6.pointer": "40"}, []),
        ("echo_request",
         packet(COA, HA, {"type": "echo_request", "identifier": 0x1234, "sequence_number": 77,
                          "data": "6d69707636"}),
         {"icmpv6.type": "128", "icmpv6.echo.identifier": "0x1234",
          "icmpv6.echo.sequence_number": "77"}, []),
        ("echo_reply",
         packet(HA, COA, {"type": "echo_reply", "identifier": 0x1234, "sequence_number": 77,
                          "data": "6d69707636"}),
         {"icmpv6.type": "129", "icmpv6.echo.identifier": "0x1234",
          "icmpv6.echo.sequence_number": "77"}, []),
        ("router_solicitation",
         packet(LL, "ff02::2", {"type": "router_solicitation",
                                "options": [sllao, {"type": "unknown", "option_type": 200,
                                                    "data": "aabbccddeeff"}]},
                hop_limit=255),
         {"icmpv6.type": "133"},
         [sllao_t, {"icmpv6.opt.type": "200", "icmpv6.opt.length": "1",
                    "icmpv6.data": "aa:bb:cc:dd:ee:ff"}]),
        ("router_advertisement",
         packet(LL, ALL_NODES, {
             "type": "router_advertisement", "cur_hop_limit": 64,
             "flags": {"M": True, "O": True, "H": True}, "router_lifetime": 1800,
             "reachable_time": 30000, "retrans_timer": 1000,
             "options": [sllao, {"type": "mtu", "mtu": 1500}, PIO_OURS,
                         {"type": "advertisement_interval", "advertisement_interval": 90},
                         {"type": "home_agent_information", "reserved": 0x8000,
                          "home_agent_preference": 10, "home_agent_lifetime": 1800}]},
             hop_limit=255),
         {"icmpv6.type": "134", "icmpv6.nd.ra.cur_hop_limit": "64",
          "icmpv6.nd.ra.flag.m": "1", "icmpv6.nd.ra.flag.o": "1", "icmpv6.nd.ra.flag.h": "1",
          "icmpv6.nd.ra.router_lifetime": "1800", "icmpv6.nd.ra.reachable_time": "30000",
          "icmpv6.nd.ra.retrans_timer": "1000"},
         [sllao_t, {"icmpv6.opt.type": "5", "icmpv6.opt.mtu": "1500"}, PIO_TSHARK,
          {"icmpv6.opt.type": "7", "icmpv6.opt.length": "1",
           "icmpv6.opt.advertisement_interval": "90"},
          {"icmpv6.opt.type": "8", "icmpv6.opt.length": "1",
           "icmpv6.opt.home_agent_preference": "10", "icmpv6.opt.home_agent_lifetime": "1800"}]),
        ("neighbor_solicitation",
         packet(LL, "ff02::1:ff00:1000", {"type": "neighbor_solicitation", "target_address": HOA,
                                          "options": [sllao]}, hop_limit=255),
         {"icmpv6.type": "135", "icmpv6.nd.ns.target_address": HOA}, [sllao_t]),
        ("neighbor_advertisement",
         packet(LL, ALL_NODES, {"type": "neighbor_advertisement",
                                "flags": {"R": False, "S": False, "O": True},
                                "target_address": HOA,
                                "options": [{"type": "target_link_layer_address",
                                             "link_layer_address": MAC}]}, hop_limit=255),
         {"icmpv6.type": "136", "icmpv6.nd.na.flag.r": "0", "icmpv6.nd.na.flag.s": "0",
          "icmpv6.nd.na.flag.o": "1", "icmpv6.nd.na.target_address": HOA},
         [{"icmpv6.opt.type": "2", "icmpv6.opt.target_linkaddr": MAC}]),
        ("redirect",
         packet(LL, "fe80::5", {"type": "redirect", "target_address": "fe80::2",
                                "destination_address": "2001:db8:5::5",
                                "options": [{"type": "target_link_layer_address",
                                             "link_layer_address": MAC},
                                            {"type": "redirected_header",
                                             "ip_header_and_data": INVOKING_HEX}]},
                hop_limit=255),
         {"icmpv6.type": "137", "icmpv6.nd.rd.target_address": "fe80::2"},
         [{"icmpv6.opt.type": "2", "icmpv6.opt.target_linkaddr": MAC},
          {"icmpv6.opt.type": "4", "icmpv6.opt.length": "6"}]),
        ("dhaad_request",
         packet(COA, ANYCAST, {"type": "dhaad_request", "identifier": 0x1234}),
         {"icmpv6.type": "144", "icmpv6.code": "0", "icmpv6.mip6.identifier": "4660"}, []),
        ("dhaad_reply",
         packet(HA, COA, {"type": "dhaad_reply", "identifier": 0x1234,
                          "home_agent_addresses": [HA, HA2]}),
         {"icmpv6.type": "145", "icmpv6.mip6.identifier": "4660",
          "icmpv6.mip6.home_agent_address": [HA, HA2]}, []),
        ("mobile_prefix_solicitation_with_hao",
         packet(COA, HA, {"type": "mobile_prefix_solicitation", "identifier": 0xbeef},
                [{"type": "destination_options",
                  "options": [{"type": "home_address", "home_address": HOA}]}]),
         {"icmpv6.type": "146", "icmpv6.mip6.identifier": "48879"}, []),
        ("mobile_prefix_advertisement_with_rh2",
         packet(HA, COA, {"type": "mobile_prefix_advertisement", "identifier": 0xbeef,
                          "flags": {"M": False, "O": True}, "options": [PIO_OURS]},
                [{"type": "routing", "routing_type": 2, "segments_left": 1,
                  "home_address": HOA}]),
         {"icmpv6.type": "147", "icmpv6.mip6.identifier": "48879", "icmpv6.mip6.flag.m": "0",
          "icmpv6.mip6.flag.o": "1"}, [PIO_TSHARK]),
        # tshark notes (severity "note", below warning) that it has no dissector for type 200.
        ("unknown_type",
         packet(HA, COA, {"type": "unknown", "icmp_type": 200, "code": 3,
                          "message_body": "01020304"}),
         {"icmpv6.type": "200", "icmpv6.code": "3", "icmpv6.data": "01:02:03:04"}, []),
    ]


def multi_pairs(pairs):
    """json object_pairs_hook keeping repeated keys (tshark repeats "icmpv6.opt")."""
    return pairs


def values(node, key):
    """All values of `key` anywhere under `node` (a pairs list from multi_pairs), in order."""
    found = []
    if isinstance(node, list):
        for item in node:
            if isinstance(item, tuple) and len(item) == 2:
                k, v = item
                if k == key:
                    found.append(v)
                found.extend(values(v, key))
            else:
                found.extend(values(item, key))
    return found


def layer(node, name):
    layers = values(node, "layers")
    for layers_node in layers:
        for k, v in layers_node:
            if k == name:
                return v
    return None


def problems(node, path="packet"):
    """Malformed markers and expert infos of severity warning or error, anywhere in a packet."""
    warning = 0x00600000  # Wireshark PI_WARN; PI_ERROR is 0x00800000
    found = []
    pairs = [item for item in node if isinstance(item, tuple)] if isinstance(node, list) else []
    for k, v in pairs:
        if isinstance(k, str) and ("_ws.malformed" in k or "Malformed Packet" in k):
            found.append(f"{path}: malformed ({k})")
        if k == "_ws.expert":
            severity = values(v, "_ws.expert.severity")
            message = values(v, "_ws.expert.message")
            if any(int(s) >= warning for s in severity):
                found.append(f"{path}: expert {message} severity {severity}")
        if isinstance(v, list):
            found.extend(problems(v, f"{path}/{k}"))
    return found


class Mipv6PcapToTshark(unittest.TestCase):
    def test_every_message_and_option_reads_back_in_tshark(self):
        cases = tshark_cases()
        with tempfile.TemporaryDirectory() as tmp:
            jsonl = os.path.join(tmp, "in.jsonl")
            pcap = os.path.join(tmp, "ours.pcap")
            with open(jsonl, "w", encoding="utf-8") as f:
                for _, line, _, _ in cases:
                    f.write(json.dumps(line) + "\n")
            result = run([MIPV6_PCAP, "encode", jsonl, pcap])
            self.assertEqual(result.returncode, 0, f"mipv6-pcap encode failed: {result.stderr}")
            shark = run(["tshark", "-r", pcap, "-T", "json"])
            self.assertEqual(shark.returncode, 0, f"tshark failed: {shark.stderr}")
        self.assertNotIn("[Malformed Packet]", shark.stdout)
        packets = json.loads(shark.stdout, object_pairs_hook=multi_pairs)
        self.assertEqual(len(packets), len(cases))
        for (name, _, fields, options), pkt in zip(cases, packets):
            with self.subTest(name):
                self.check_packet(name, pkt, fields, options)

    def check_packet(self, name, pkt, fields, options):
        self.assertEqual(problems(pkt), [], f"{name}: tshark reports problems")
        icmp = layer(pkt, "icmpv6")
        self.assertIsNotNone(icmp, f"{name}: no icmpv6 layer")
        self.assertEqual(values(icmp, "icmpv6.checksum.status"), ["1"],
                         f"{name}: checksum status (1 = Good)")
        for key, expected in fields.items():
            got = values(icmp, key)
            if isinstance(expected, list):
                self.assertEqual(got, expected, f"{name}: {key}")
            else:
                self.assertEqual(got[:1], [expected], f"{name}: {key} is {got}")
        opts = [v for k, v in icmp if k == "icmpv6.opt"]
        self.assertEqual(len(opts), len(options), f"{name}: {len(opts)} options in tshark")
        for i, (opt, expected) in enumerate(zip(opts, options)):
            for key, value in expected.items():
                self.assertEqual(values(opt, key)[:1], [value],
                                 f"{name}: option {i} {key} is {values(opt, key)}")


if __name__ == "__main__":
    if not MIPV6_PCAP or not os.access(MIPV6_PCAP, os.X_OK):
        print(f"MIPV6_PCAP must name the mipv6-pcap binary (got {MIPV6_PCAP!r})", file=sys.stderr)
        sys.exit(2)
    unittest.main()
