#!/usr/bin/python3
"""Interop for the Mobility Header codec (RFC 6275 §6.1, §6.2; RFC 4283; RFC 4285).

1. scapy -> us: scapy 2.5.0 builds every MH message type and every mobility option, with
   non-default field values, inside IPv6 packets (BU with a Home Address option, BA with a Type 2
   Routing header); `mipv6-pcap decode` must agree on every field scapy built, checksum included.
2. us -> tshark: `mipv6-pcap encode` builds the same set; tshark 4.0.17 must show the same field
   values with no malformed packet and no expert warning, and scapy must compute the same MH
   checksums (with the home address as pseudo-source, the type 2 address as destination).

Every mismatch is reported as "field: ours=..., theirs=...".
"""
import json
import logging
import os
import tempfile
import unittest
import warnings

warnings.filterwarnings("ignore")
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from interop_common import (CN, COA, HA, HOA, TOOL, WARNING_SEVERITY, Pairs,  # noqa: E402,F401
                             decode, encode, run_tool, tshark)
from scapy.all import (HAO, PadN, Pad1, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrRouting, rdpcap, wrpcap)
from scapy.layers.inet6 import (MIP6MH_BA, MIP6MH_BE, MIP6MH_BRR, MIP6MH_BU,  # noqa: E402
                                MIP6MH_CoT, MIP6MH_CoTI, MIP6MH_Generic, MIP6MH_HoT,
                                MIP6MH_HoTI, MIP6OptAltCoA, MIP6OptBindingAuthData,
                                MIP6OptBRAdvice, MIP6OptMNID, MIP6OptMsgAuth,
                                MIP6OptNonceIndices, MIP6OptReplayProtection, MIP6OptUnknown,
                                _MobilityHeader, in6_chksum)

TIMESTAMP = 0xE8F1A2B380000000  # NTP: seconds since 1900 . fraction (RFC 4285 §6)


# --------------------------------------------------------------------------------------------
# tools

def mobility_layer(packet):
    layer = packet
    while layer is not None and not isinstance(layer, _MobilityHeader):
        layer = layer.payload if layer.payload else None
    if layer is None:
        raise AssertionError("scapy found no Mobility Header in " + packet.summary())
    return layer


def mismatches(where, ours, theirs):
    """Differences between our value and theirs, recursing into the keys theirs gives."""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return ["%s: ours=%r, theirs=%r" % (where, ours, theirs)]
        out = []
        for key, value in theirs.items():
            if key not in ours:
                out.append("%s.%s: ours=<missing>, theirs=%r" % (where, key, value))
            else:
                out += mismatches(where + "." + key, ours[key], value)
        return out
    if isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            return ["%s: ours=%r, theirs=%r" % (where, ours, theirs)]
        out = []
        for i, (a, b) in enumerate(zip(ours, theirs)):
            out += mismatches("%s[%d]" % (where, i), a, b)
        return out
    return [] if ours == theirs else ["%s: ours=%r, theirs=%r" % (where, ours, theirs)]


# --------------------------------------------------------------------------------------------
# scapy's view of a Mobility Header, in our JSON names (docs/json.md)

def scapy_option(o):
    if isinstance(o, Pad1):
        return {"option_type": 0, "type": "pad1"}
    if isinstance(o, PadN):
        return {"option_type": 1, "type": "padn", "length": o.optlen, "data": o.optdata.hex()}
    view = {"option_type": o.otype, "length": o.olen}
    if isinstance(o, MIP6OptBRAdvice):
        view.update(type="binding_refresh_advice", refresh_interval=o.rinter,
                    refresh_interval_seconds=4 * o.rinter)
    elif isinstance(o, MIP6OptAltCoA):
        view.update(type="alternate_care_of_address", alternate_care_of_address=o.acoa)
    elif isinstance(o, MIP6OptNonceIndices):
        view.update(type="nonce_indices", home_nonce_index=o.hni, care_of_nonce_index=o.coni)
    elif isinstance(o, MIP6OptBindingAuthData):
        view.update(type="binding_authorization_data",
                    authenticator=o.authenticator.to_bytes(12, "big").hex())
    elif isinstance(o, MIP6OptMNID):
        view.update(type="mobile_node_identifier", subtype=o.subtype, identifier=o.id.hex())
    elif isinstance(o, MIP6OptMsgAuth):
        view.update(type="mobility_message_authentication", subtype=o.subtype,
                    mobility_spi=o.mspi, authentication_data=o.authdata.hex())
    elif isinstance(o, MIP6OptReplayProtection):
        view.update(type="mobility_message_replay_protection", timestamp=o.timestamp)
    else:
        view.update(type="unknown", data=o.odata.hex())
    return view


def scapy_view(mh):
    """What scapy dissected, named as our decoder names it."""
    view = {"payload_proto": mh.nh, "header_len": mh.len, "mh_type": mh.mhtype,
            "reserved": mh.res, "checksum": mh.cksum}
    if isinstance(mh, MIP6MH_BRR):
        view.update(type="binding_refresh_request", message_reserved=mh.res2)
    elif isinstance(mh, MIP6MH_CoTI):  # before HoTI: CoTI is its subclass
        view.update(type="care_of_test_init", message_reserved=int.from_bytes(mh.reserved, "big"),
                    care_of_init_cookie=mh.cookie.hex())
    elif isinstance(mh, MIP6MH_HoTI):
        view.update(type="home_test_init", message_reserved=int.from_bytes(mh.reserved, "big"),
                    home_init_cookie=mh.cookie.hex())
    elif isinstance(mh, MIP6MH_CoT):  # before HoT, likewise
        view.update(type="care_of_test", care_of_nonce_index=mh.index,
                    care_of_init_cookie=mh.cookie.hex(), care_of_keygen_token=mh.token.hex())
    elif isinstance(mh, MIP6MH_HoT):
        view.update(type="home_test", home_nonce_index=mh.index,
                    home_init_cookie=mh.cookie.hex(), home_keygen_token=mh.token.hex())
    elif isinstance(mh, MIP6MH_BU):
        # scapy: 7 flag bits "PRMKLHA" (A = 64) then 9 reserved bits; ours: A H L K then the 12
        # bits RFC 6275 reserves (M R P live there).
        flags = int(mh.flags)
        view.update(type="binding_update", sequence_number=mh.seq,
                    flags={"A": bool(flags & 64), "H": bool(flags & 32), "L": bool(flags & 16),
                           "K": bool(flags & 8)},
                    reserved_flags=((flags & 7) << 9) | mh.reserved,
                    lifetime=mh.mhtime, lifetime_seconds=4 * mh.mhtime)
    elif isinstance(mh, MIP6MH_BA):
        flags = int(mh.flags)  # "PRK": K = 4, then 5 reserved bits
        view.update(type="binding_acknowledgement", status=mh.status,
                    flags={"K": bool(flags & 4)}, reserved_flags=((flags & 3) << 5) | mh.res2,
                    sequence_number=mh.seq, lifetime=mh.mhtime, lifetime_seconds=4 * mh.mhtime)
    elif isinstance(mh, MIP6MH_BE):
        view.update(type="binding_error", status=mh.status, message_reserved=mh.reserved,
                    home_address=mh.ha)
    elif isinstance(mh, MIP6MH_Generic):
        # scapy 2.5.0 dissects only 8 * len - 6 octets into "msg" (8 octets short of the MH's
        # 8 * (len + 1) - 6): take the message data from the raw octets instead.
        view.update(type="unknown", message_data=bytes(mh)[6:8 * (mh.len + 1)].hex())
    if not isinstance(mh, MIP6MH_Generic):
        view["options"] = [scapy_option(o) for o in mh.options]
    return view


def hao():
    return IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)])


def rh2():
    return IPv6ExtHdrRouting(type=2, addresses=[HOA], segleft=1)


COOKIE, TOKEN = bytes.fromhex("0102030405060708"), bytes.fromhex("a1a2a3a4a5a6a7a8")
AUTH = bytes.fromhex("00112233445566778899aabb")

# Every message type and option, with non-default values (scapy's defaults set the K bit in BU
# and BA and a 12 s lifetime: MIPV6-FACTS §11.2), olen=4 / olen=12 for scapy's length bugs.
SCAPY_PACKETS = [
    ("brr", IPv6(src=CN, dst=HOA) / MIP6MH_BRR(res=0x11, res2=0xBEEF, options=[
        MIP6OptUnknown(otype=0x63, odata=b"\xab\xcd")])),
    ("hoti", IPv6(src=HOA, dst=CN) / MIP6MH_HoTI(res=0x22, reserved=b"\x12\x34", cookie=COOKIE)),
    ("coti", IPv6(src=COA, dst=CN) / MIP6MH_CoTI(reserved=b"\x00\x01", cookie=TOKEN)),
    ("hot", IPv6(src=CN, dst=HOA) / MIP6MH_HoT(index=0xBEEF, cookie=COOKIE, token=TOKEN)),
    ("cot", IPv6(src=CN, dst=COA) / MIP6MH_CoT(index=0x1234, cookie=TOKEN, token=COOKIE)),
    ("bu_home", IPv6(src=COA, dst=HA) / hao() / MIP6MH_BU(
        seq=0xABCD, flags="AHLM", reserved=0x1A5, mhtime=0x1234,
        options=[MIP6OptAltCoA(acoa=COA)])),
    ("bu_correspondent", IPv6(src=COA, dst=CN) / hao() / MIP6MH_BU(
        seq=0x0101, flags=0, mhtime=105, options=[
            MIP6OptNonceIndices(hni=3, coni=0xFFFE, olen=4),
            MIP6OptBindingAuthData(authenticator=int.from_bytes(AUTH, "big"), olen=12)])),
    ("bu_rfc4285", IPv6(src=COA, dst=HA) / hao() / MIP6MH_BU(
        seq=2, flags="AH", mhtime=16, options=[
            MIP6OptMNID(subtype=1, id=b"mn@example.net"),
            MIP6OptReplayProtection(timestamp=TIMESTAMP),
            MIP6OptMsgAuth(subtype=1, mspi=0x1000, authdata=AUTH)])),
    ("ba_home", IPv6(src=HA, dst=COA) / rh2() / MIP6MH_BA(
        status=1, flags="PR", res2=0x15, seq=0xABCD, mhtime=0x96,
        options=[MIP6OptBRAdvice(rinter=0x55)])),
    ("ba_correspondent", IPv6(src=CN, dst=COA) / rh2() / MIP6MH_BA(
        status=135, flags=0, res2=0, seq=0x0100, mhtime=0,
        options=[MIP6OptBindingAuthData(authenticator=1, olen=12)])),
    ("be", IPv6(src=CN, dst=COA) / MIP6MH_BE(res=0x33, status=2, reserved=0x5A, ha=HOA)),
    ("unknown_type", IPv6(src=CN, dst=HOA) / MIP6MH_Generic(
        mhtype=42, res=0x44, msg=bytes.fromhex("deadbeefcafe01020304"))),
]


class ScapyToUs(unittest.TestCase):
    """Packets scapy built; our decoder must agree on every field."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.decoded = decode(cls.tmp.name, [p for _, p in SCAPY_PACKETS])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_message_and_option_agrees_with_scapy(self):
        self.assertEqual(len(self.decoded), len(SCAPY_PACKETS))
        covered_types, covered_options = set(), set()
        for (name, packet), ours in zip(SCAPY_PACKETS, self.decoded):
            with self.subTest(name):
                self.assertNotIn("error", ours, json.dumps(ours))
                theirs = scapy_view(mobility_layer(IPv6(bytes(packet))))
                problems = mismatches("mobility", ours["mobility"], theirs)
                self.assertFalse(problems, "\n".join(problems))
                self.assertIs(ours["mobility"]["checksum_valid"], True)
                covered_types.add(ours["mobility"]["type"])
                covered_options |= {o["type"] for o in ours["mobility"].get("options", [])}
        self.assertEqual(len(covered_types), 9)  # the 8 RFC 6275 types and "unknown"
        self.assertTrue({"pad1", "padn", "binding_refresh_advice", "alternate_care_of_address",
                         "nonce_indices", "binding_authorization_data", "mobile_node_identifier",
                         "mobility_message_authentication", "mobility_message_replay_protection",
                         "unknown"} <= covered_options, covered_options)

    def test_scapy_bu_flags_map_to_rfc_bits(self):
        # scapy's "AHLM": A, H, L and the M bit that RFC 6275 §6.1.7 leaves reserved (0x0800).
        bu = self.decoded[5]["mobility"]
        self.assertEqual(bu["flags"], {"A": True, "H": True, "L": True, "K": False})
        self.assertEqual(bu["reserved_flags"], 0x800 | 0x1A5)
        self.assertEqual(bu["lifetime_seconds"], 0x1234 * 4)

    def test_checksum_uses_home_address_and_type2_address(self):
        # §6.1.1: HoA from the HAO as source (BU), HoA from the type 2 header as destination (BA).
        self.assertEqual(self.decoded[5]["pseudo_header"]["source"], HOA)
        self.assertEqual(self.decoded[8]["pseudo_header"]["destination"], HOA)
        for ours in self.decoded:
            self.assertIs(ours["mobility"]["checksum_valid"], True)

    def test_scapy_nonce_indices_length_bug_is_bad_length(self):
        # scapy 2.5.0 writes Nonce Indices with Length 16 (MIPV6-FACTS §11.2 bug 1): we reject it
        # at its length octet: 40 (IPv6) + 24 (Destination Options) + 13.
        packet = IPv6(src=COA, dst=CN) / hao() / MIP6MH_BU(
            seq=1, flags=0, mhtime=1, options=[MIP6OptNonceIndices(hni=1, coni=2)])
        [ours] = decode(self.tmp.name, [packet])
        self.assertEqual(ours["error"], {"code": "bad_length", "offset": 40 + 24 + 13})
        self.assertEqual(ours["mobility"]["error"], {"code": "bad_length", "offset": 40 + 24 + 13})

    def test_scapy_authorization_data_length_bug_is_bad_length(self):
        # Binding Authorization Data with scapy's default Length 16 runs past the MH.
        packet = IPv6(src=CN, dst=COA) / MIP6MH_BA(
            status=0, flags=0, seq=1, mhtime=1,
            options=[MIP6OptBindingAuthData(authenticator=1)])
        [ours] = decode(self.tmp.name, [packet])
        # BA fixed part ends at 12; scapy pads BAD to 8n+2 (18), its length octet is at 19.
        self.assertEqual(ours["error"]["code"], "bad_length")
        self.assertEqual(ours["error"]["offset"], 40 + 19)


# --------------------------------------------------------------------------------------------
# us -> tshark

HAO_HEADER = {"type": "destination_options",
              "options": [{"type": "home_address", "home_address": HOA}]}
RH2_HEADER = {"type": "routing", "routing_type": 2, "home_address": HOA}

SHAPES = [
    {"ipv6": {"source": CN, "destination": HOA},
     "mobility": {"type": "binding_refresh_request", "reserved": 17, "message_reserved": 0xBEEF,
                  "options": [{"type": "unknown", "option_type": 99, "data": "abcd"}]}},
    {"ipv6": {"source": HOA, "destination": CN},
     "mobility": {"type": "home_test_init", "home_init_cookie": "0102030405060708"}},
    {"ipv6": {"source": COA, "destination": CN},
     "mobility": {"type": "care_of_test_init", "care_of_init_cookie": "1112131415161718"}},
    {"ipv6": {"source": CN, "destination": HOA},
     "mobility": {"type": "home_test", "home_nonce_index": 7, "home_init_cookie": "0102030405060708",
                  "home_keygen_token": "a1a2a3a4a5a6a7a8"}},
    {"ipv6": {"source": CN, "destination": COA},
     "mobility": {"type": "care_of_test", "care_of_nonce_index": 9,
                  "care_of_init_cookie": "1112131415161718",
                  "care_of_keygen_token": "b1b2b3b4b5b6b7b8"}},
    {"ipv6": {"source": COA, "destination": HA}, "extension_headers": [HAO_HEADER],
     "mobility": {"type": "binding_update", "sequence_number": 0xABCD, "lifetime": 0x1234,
                  "flags": {"A": True, "H": True, "L": True, "K": True},
                  "reserved_flags": 0x0800 | 0x0040,  # M and B of later RFCs
                  "options": [{"type": "alternate_care_of_address",
                               "alternate_care_of_address": COA}]}},
    {"ipv6": {"source": COA, "destination": CN}, "extension_headers": [HAO_HEADER],
     "mobility": {"type": "binding_update", "sequence_number": 257, "lifetime": 105,
                  "options": [{"type": "nonce_indices", "home_nonce_index": 3,
                               "care_of_nonce_index": 0xFFFE},
                              {"type": "binding_authorization_data",
                               "authenticator": AUTH.hex()}]}},
    {"ipv6": {"source": COA, "destination": HA}, "extension_headers": [HAO_HEADER],
     "mobility": {"type": "binding_update", "sequence_number": 2, "lifetime": 16,
                  "flags": {"A": True, "H": True},
                  "options": [{"type": "mobile_node_identifier", "subtype": 1,
                               "identifier": b"mn@example.net".hex()},
                              {"type": "mobility_message_replay_protection",
                               "timestamp": TIMESTAMP},
                              {"type": "mobility_message_authentication", "subtype": 1,
                               "mobility_spi": 0x1000, "authentication_data": AUTH.hex()}]}},
    {"ipv6": {"source": HA, "destination": COA}, "extension_headers": [RH2_HEADER],
     "mobility": {"type": "binding_acknowledgement", "status": 1, "flags": {"K": True},
                  "sequence_number": 0xABCD, "lifetime": 150,
                  "options": [{"type": "binding_refresh_advice", "refresh_interval": 128}]}},
    {"ipv6": {"source": CN, "destination": COA}, "extension_headers": [RH2_HEADER],
     "mobility": {"type": "binding_acknowledgement", "status": 135, "sequence_number": 256,
                  "lifetime": 0,
                  "options": [{"type": "binding_authorization_data",
                               "authenticator": AUTH.hex()}]}},
    {"ipv6": {"source": CN, "destination": COA},
     "mobility": {"type": "binding_error", "status": 2, "home_address": HOA}},
    {"ipv6": {"source": CN, "destination": HOA},
     "mobility": {"type": "unknown", "mh_type": 42, "message_data": "deadbeefcafe01020304"}},
]


def colon_hex(text):
    return text.replace(":", "")


def flag(value):
    return "1" if value else "0"


def tshark_message(m):
    """The tshark 4.0.17 fields (MIPV6-FACTS §11.1) a message's JSON should produce."""
    t = m["type"]
    if t == "binding_refresh_request":
        return {"mip6.binding_refresh_request": "%04x" % m["message_reserved"]}
    if t == "home_test_init":
        return {"mip6.hoti.cookie": "0x" + m["home_init_cookie"]}
    if t == "care_of_test_init":
        return {"mip6.coti.cookie": "0x" + m["care_of_init_cookie"]}
    if t == "home_test":
        return {"mip6.hot.nindex": str(m["home_nonce_index"]),
                "mip6.hot.cookie": "0x" + m["home_init_cookie"],
                "mip6.hot.token": "0x" + m["home_keygen_token"]}
    if t == "care_of_test":
        # tshark's quirk: the care-of keygen token is shown as mip6.hot.token.
        return {"mip6.cot.nindex": str(m["care_of_nonce_index"]),
                "mip6.cot.cookie": "0x" + m["care_of_init_cookie"],
                "mip6.hot.token": "0x" + m["care_of_keygen_token"]}
    if t == "binding_update":
        flags, reserved = m.get("flags", {}), m.get("reserved_flags", 0)
        out = {"mip6.bu.seqnr": str(m["sequence_number"]),
               "mip6.bu.lifetime": str(m["lifetime"])}
        for letter in "AHLK":
            out["mip6.bu.%s_flag" % letter.lower()] = flag(flags.get(letter))
        for name, mask in (("mip6.bu.m_flag", 0x800), ("mip6.nemo.bu.r_flag", 0x400),
                           ("mip6.bu.p_flag", 0x200), ("mip6.bu.f_flag", 0x100),
                           ("mip6.bu.t_flag", 0x80), ("mip6.bu.b_flag", 0x40)):
            out[name] = flag(reserved & mask)
        return out
    if t == "binding_acknowledgement":
        return {"mip6.ba.status": str(m["status"]),
                "mip6.ba.k_flag": flag(m.get("flags", {}).get("K")),
                "mip6.ba.seqnr": str(m["sequence_number"]),
                "mip6.ba.lifetime": str(m["lifetime"])}
    if t == "binding_error":
        return {"mip6.be.status": str(m["status"]), "mip6.be.haddr": m["home_address"]}
    return {"mip6.unknown_type_data": m["message_data"]}


def tshark_options(options):
    """(field, expected value) pairs for the options, in wire order."""
    out = []
    for o in options:
        t = o["type"]
        if t == "binding_refresh_advice":
            out.append(("mip6.bra.interval", str(o["refresh_interval"])))
        elif t == "alternate_care_of_address":
            out.append(("mip6.acoa.acoa", o["alternate_care_of_address"]))
        elif t == "nonce_indices":
            out += [("mip6.ni.hni", str(o["home_nonce_index"])),
                    ("mip6.ni.cni", str(o["care_of_nonce_index"]))]
        elif t == "binding_authorization_data":
            out.append(("mip6.bad.auth", o["authenticator"]))
        elif t == "mobile_node_identifier":
            out += [("mip6.mnid.subtype", str(o["subtype"])),
                    ("mip6.mnid.identifier", bytes.fromhex(o["identifier"]).decode())]
        elif t == "mobility_message_authentication":
            out += [("mip6.auth.subtype", str(o["subtype"])),
                    ("mip6.auth.mobility_spi", str(o["mobility_spi"]))]
        elif t == "mobility_message_replay_protection":
            # tshark shows the timestamp as a date; compare the option's raw octets instead.
            out.append(("mip6.options.mseg_id", "0a08%016x" % o["timestamp"]))
        elif t == "unknown":
            out.append(("mip6.mobility_opt", str(o["option_type"])))
    return out


class UsToTshark(unittest.TestCase):
    """Packets we build; tshark must show the same fields with no warnings, and scapy must
    compute the same checksums."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pcap = encode(cls.tmp.name, SHAPES)
        cls.fields = tshark(cls.pcap)
        cls.scapy = rdpcap(cls.pcap)
        result = run_tool("decode", cls.pcap)
        cls.ours = [json.loads(line) for line in result.stdout.splitlines()]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check(self, where, ours, theirs):
        self.assertEqual(ours, theirs, "%s: ours=%r, theirs=%r" % (where, ours, theirs))

    def test_no_malformed_or_expert_warnings(self):
        self.assertEqual(len(self.fields), len(SHAPES))
        for i, f in enumerate(self.fields):
            with self.subTest(SHAPES[i]["mobility"]["type"]):
                self.assertNotIn("_ws.malformed", f)
                self.assertIn("mip6.mhtype", f)
                severities = [int(s) for s in f.get("_ws.expert.severity", [])]
                self.assertFalse([s for s in severities if s >= WARNING_SEVERITY],
                                 f.get("_ws.expert.message"))

    def test_common_header_agrees(self):
        for i, (f, ours) in enumerate(zip(self.fields, self.ours)):
            m = ours["mobility"]
            with self.subTest(m["type"]):
                self.assertNotIn("error", ours)
                self.check("mip6.proto", f["mip6.proto"], ["59"])
                self.check("mip6.hlen", f["mip6.hlen"], [str(m["header_len"])])
                self.check("mip6.mhtype", f["mip6.mhtype"], [str(m["mh_type"])])
                self.check("mip6.reserved", int(f["mip6.reserved"][0], 16),
                           SHAPES[i]["mobility"].get("reserved", 0))
                self.check("mip6.csum", int(f["mip6.csum"][0], 16), m["checksum"])

    def test_message_fields_agree(self):
        for shape, f in zip(SHAPES, self.fields):
            m = shape["mobility"]
            with self.subTest(m["type"]):
                for field, value in tshark_message(m).items():
                    theirs = f.get(field, ["<missing>"])[0]
                    if field in ("mip6.unknown_type_data", "mip6.binding_refresh_request"):
                        theirs = colon_hex(theirs)
                    self.check(field, value, theirs)

    def test_option_fields_agree(self):
        for shape, f in zip(SHAPES, self.fields):
            m = shape["mobility"]
            with self.subTest(m["type"]):
                for n, (field, value) in enumerate(tshark_options(m.get("options", []))):
                    values = [colon_hex(v) if field in ("mip6.bad.auth", "mip6.options.mseg_id")
                              else v for v in f.get(field, [])]
                    self.assertIn(value, values, "%s: ours=%r, theirs=%r" % (field, value, values))

    def test_rfc4285_authentication_data(self):
        # tshark 4.0.17 shows the Authentication Data two octets short (it subtracts the Type and
        # Length octets from Option Length a second time): compare what it shows as a prefix,
        # and the whole option through its raw octets.
        f = self.fields[7]
        shown = colon_hex(f["mip6.auth.auth_data"][0])
        self.assertTrue(AUTH.hex().startswith(shown), "ours=%s, theirs=%s" % (AUTH.hex(), shown))
        self.assertEqual(colon_hex(f["mip6.options.auth"][0]),
                         "0911" "01" "00001000" + AUTH.hex())

    def test_scapy_dissects_the_same_fields(self):
        for shape, packet, ours in zip(SHAPES, self.scapy, self.ours):
            with self.subTest(shape["mobility"]["type"]):
                theirs = scapy_view(mobility_layer(packet))
                problems = mismatches("mobility", ours["mobility"], theirs)
                self.assertFalse(problems, "\n".join(problems))

    def test_scapy_computes_our_checksums(self):
        # scapy uses the HAO in the pseudo-header only when it is the sole option of its header
        # (MIPV6-FACTS §11.2 quirk 4): drop our PadN before asking it.
        for shape, packet in zip(SHAPES, self.scapy):
            with self.subTest(shape["mobility"]["type"]):
                if IPv6ExtHdrDestOpt in packet:
                    dest = packet[IPv6ExtHdrDestOpt]
                    dest.options = [o for o in dest.options if isinstance(o, HAO)]
                mh = mobility_layer(packet)
                ours = mh.cksum
                raw = bytearray(bytes(mh))
                raw[4:6] = b"\0\0"
                theirs = in6_chksum(135, mh, bytes(raw))
                self.check("mobility.checksum", ours, theirs)

    def test_decode_encode_round_trip_is_byte_exact(self):
        src = os.path.join(self.tmp.name, "decoded.jsonl")
        with open(src, "w") as f:
            for o in self.ours:
                f.write(json.dumps(o) + "\n")
        again = os.path.join(self.tmp.name, "again.pcap")
        result = run_tool("encode", src, again)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([bytes(p) for p in rdpcap(again)], [bytes(p) for p in self.scapy])


if __name__ == "__main__":
    unittest.main()
