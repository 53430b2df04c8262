#!/usr/bin/python3
"""Protection of the signalling between a mobile node and its home agent (issue 7): mipv6d with
security.signalling = "esp" (RFC 6275 §5.1, RFC 3776 / RFC 4877 ESP transport mode) and
"auth-option" (RFC 4285 MN-HA authentication option, RFC 4283 MN-ID), against a scapy peer.

The peer's ESP is scapy's (scapy.layers.ipsec.SecurityAssociation), an implementation
independent of the daemon's; tshark 4.0 decrypts a capture of each exchange with its own ESP
dissector and the SA table, a third implementation.

Topology of the home agent tests (the one of test_home_agent.py):

  ha:   home0 2001:db8:1::1/64 (the home link)     fgn0 2001:db8:2::1/64 (a foreign link)
          |                                           |
  peer: mn0  2001:db8:1::200/64                     coa0 2001:db8:2::100/64 (the MN's care-of)

The mobile node test uses the topology of test_mobile_node.py (mn: eth0 <-> net: ar0, where
scapy plays the access router and the home agent).
"""

import hashlib
import hmac
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mipv6d_testlib import (  # noqa: E402
    BU_A, BU_H, IPPROTO_DSTOPTS, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_IPV6, IPPROTO_MH,
    IPPROTO_ROUTING, IPPROTO_UDP, MH_BA, MH_BU, MH_HOT, MH_HOTI, MIPV6D, OPT_ALT_COA, Mobility,
    NamespaceTestCase, Parsed, addr_bytes, addr_text, binding_update,
    checksum_valid, frame, home_address_option_header, icmpv6, init_message, main, mh_packet,
    mobility, mobility_header, pad_to, parse, pseudo_header_checksum, raw_ipv6, snapshot,
    wait_until)
from scapy.all import Raw, wrpcap  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402
from test_home_agent import build_topology  # noqa: E402
from test_mobile_node import (  # noqa: E402
    AR_MAC, CONFIG as MN_CONFIG, MN_MAC, build_access_link, is_slaac, router_advertisement,
    type2_routing_header)

IPPROTO_ESP = 50
ICMPV6_MPS, ICMPV6_MPA = 146, 147  # RFC 6275 §6.7, §6.8

HA = "2001:db8:1::1"
HA_FOREIGN = "2001:db8:2::1"
THIRD = "2001:db8:1::200"
HOME = "2001:db8:1::100"
OTHER_HOME = "2001:db8:1::101"
COA = "2001:db8:2::100"
MAX_LIFETIME = 120

HA_HOME_MAC = "02:00:00:00:01:01"
PEER_HOME_MAC = "02:00:00:00:01:02"
HA_FOREIGN_MAC = "02:00:00:00:02:01"
PEER_COA_MAC = "02:00:00:00:02:02"

# The SA directions of a [[security.esp]] entry (its key file's sections, its spi_* keys).
DIRECTIONS = ("mn_to_ha", "ha_to_mn", "tunnel_mn_to_ha", "tunnel_ha_to_mn")
# The SPIs of the two mobile nodes' transport SAs (RFC 4303 §2.1: >= 256 here).
SPIS = {HOME: (0x1000, 0x1001), OTHER_HOME: (0x2000, 0x2001)}
TUNNEL_SPIS = (0x1000, 0x1001, 0x1002, 0x1003)
UNKNOWN_SPI = 0x7777

# The three suites of [[security.esp]], as scapy, the key files and tshark name them.
SUITES = {
    "aes-gcm-16": dict(crypt_algo="AES-GCM", encryption_octets=20, auth_algo=None,
                       authentication_octets=0,
                       tshark_encryption="AES-GCM with 16 octet ICV [RFC4106]",
                       tshark_authentication="NULL"),
    "aes-cbc-hmac-sha256": dict(crypt_algo="AES-CBC", encryption_octets=16,
                                auth_algo="SHA2-256-128", authentication_octets=32,
                                tshark_encryption="AES-CBC [RFC3602]",
                                tshark_authentication="HMAC-SHA-256-128 [RFC4868]"),
    "3des-cbc-hmac-sha1": dict(crypt_algo="3DES", encryption_octets=24,
                               auth_algo="HMAC-SHA1-96", authentication_octets=20,
                               tshark_encryption="TripleDES-CBC [RFC2451]",
                               tshark_authentication="HMAC-SHA-1-96 [RFC2404]"),
}

# RFC 4285 / RFC 4283 options (MIPV6-FACTS §10.2).
OPT_MN_ID, OPT_AUTH, OPT_REPLAY = 8, 9, 10
AUTH_SUBTYPE_MN_HA = 1
MN_ID_SUBTYPE_NAI = 1
AUTH_SPI = 300
NAI = b"mn100@example.net"
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01

HA_CONFIG = """
[node]
roles = ["home_agent"]
control_socket = "@SOCKET@"
state_file = "@STATE@"
log_level = "debug"

[home_agent]
interface = "home0"
prefixes = ["2001:db8:1::/64"]
max_lifetime = %d
""" % MAX_LIFETIME


# ---------------------------------------------------------------------------------------------
# Keys and configuration


def write_secret(path, text, mode=0o600):
    """Writes a key file with exactly `mode` (whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return path


def new_sa_keys(suite):
    """Random keys of one SA direction: {"encryption": bytes, "authentication": bytes}."""
    spec = SUITES[suite]
    return {"encryption": os.urandom(spec["encryption_octets"]),
            "authentication": os.urandom(spec["authentication_octets"])}


def esp_key_file_text(keys):
    """The key file of an ESP entry: one TOML table per SA direction, hex strings."""
    lines = []
    for direction in DIRECTIONS:
        if direction not in keys:
            continue
        lines.append("[%s]" % direction)
        lines.append('encryption = "%s"' % keys[direction]["encryption"].hex())
        if keys[direction]["authentication"]:
            lines.append('authentication = "%s"' % keys[direction]["authentication"].hex())
    return "\n".join(lines) + "\n"


def esp_entry(home, suite, key_file, spis, home_agent=HA, replay_window=64):
    """A [[security.esp]] entry; `spis` lists the SPIs in the order of DIRECTIONS (two, or
    four with the tunnel-mode SAs)."""
    text = """
[[security.esp]]
home_address = "%s"
home_agent = "%s"
suite = "%s"
key_file = "%s"
replay_window = %d
""" % (home, home_agent, suite, key_file, replay_window)
    for direction, spi in zip(DIRECTIONS, spis):
        text += "spi_%s = 0x%x\n" % (direction, spi)
    return text


class EspPeer:
    """The scapy mobile node's two transport SAs with the home agent (RFC 3776 §3)."""

    def __init__(self, home, suite, keys=None, spis=None):
        self.home = home
        self.suite = suite
        self.spis = spis or SPIS[home]
        self.keys = keys or {direction: new_sa_keys(suite)
                             for direction in DIRECTIONS[:len(self.spis)]}
        self.outbound = self.security_association(self.spis[0], self.keys["mn_to_ha"])
        self.inbound = self.security_association(self.spis[1], self.keys["ha_to_mn"])
        if len(self.spis) == 4:
            # Tunnel mode (RFC 4303 §3.1.2) is, on the wire, transport mode of an
            # IPv6-in-IPv6 packet: these SAs protect and open such packets.
            self.tunnel_outbound = self.security_association(self.spis[2],
                                                             self.keys["tunnel_mn_to_ha"])
            self.tunnel_inbound = self.security_association(self.spis[3],
                                                            self.keys["tunnel_ha_to_mn"])

    def security_association(self, spi, keys):
        spec = SUITES[self.suite]
        return SecurityAssociation(ESP, spi=spi, crypt_algo=spec["crypt_algo"],
                                   crypt_key=keys["encryption"],
                                   auth_algo=spec["auth_algo"],
                                   auth_key=keys["authentication"] or None)

    def write_key_file(self, directory):
        return write_secret(os.path.join(directory, "%x.keys" % self.spis[0]),
                            esp_key_file_text(self.keys))

    def protect(self, plain, sa=None, seq_num=None):
        """ESP transport (RFC 4303 §3.1.1) of an IPv6 packet (bytes): after the Destination
        Options header with the Home Address option, which stays outside (RFC 3776 §3.1)."""
        protected = bytes((sa or self.outbound).encrypt(IPv6(plain), seq_num=seq_num))
        before, after = Parsed(plain), Parsed(protected)
        assert after.headers == before.headers, (plain.hex(), protected.hex())
        assert after.protocol == IPPROTO_ESP, protected.hex()
        assert after.home_address == before.home_address, protected.hex()
        return protected

    def binding_update(self, sequence, lifetime_units=100, home=None, care_of=COA, sa=None,
                       seq_num=None):
        """RFC 3776 §3.1 / RFC 4877 §3: IPv6(CoA -> HA) / DestOpts{HAO} / ESP / MH BU with
        an Alternate Care-of Address option (RFC 6275 §11.7.1)."""
        home = home or self.home
        mh = binding_update(sequence, BU_H | BU_A, lifetime_units, alternate_care_of=care_of,
                            source=home, destination=HA)
        return self.protect(mh_packet(care_of, HA, mh, home_address=home), sa, seq_num)


def esp_spi_and_sequence(packet):
    """(SPI, Sequence Number) of the ESP header of an IPv6 packet (bytes), RFC 4303 §2."""
    _fixed, _extensions, _last, esp = split_at_esp(packet)
    return struct.unpack("!II", esp[:8])


def split_at_esp(packet):
    """(fixed header, extension headers, offset of the last one in them or None, ESP)."""
    packet = bytes(packet)
    next_header, offset, last = packet[6], 40, None
    while next_header in (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS):
        last = offset - 40
        next_header = packet[offset]
        offset += (packet[offset + 1] + 1) * 8
    if next_header != IPPROTO_ESP:
        raise ValueError("no ESP header in %s" % packet.hex())
    return packet[:40], packet[40:offset], last, packet[offset:]


def open_esp(sa, packet):
    """The packet (bytes) as it was before ESP transport mode: scapy verifies the ICV and
    decrypts. scapy 2.5's decrypt re-dissects the payload with the class the IPv6 header (not
    the last extension header) names, which breaks after a Type 2 Routing header: the ESP is
    therefore opened behind a bare IPv6 header, and the extension headers put back after."""
    fixed, extensions, last, esp = split_at_esp(packet)
    bare = IPv6(src=addr_text(fixed[8:24]), dst=addr_text(fixed[24:40]), nh=IPPROTO_ESP) / \
        Raw(esp)
    opened = sa.decrypt(IPv6(bytes(bare)))
    inner_protocol, inner = opened.nh, bytes(opened.payload)
    source, destination = addr_text(fixed[8:24]), addr_text(fixed[24:40])
    if last is None:
        return raw_ipv6(source, destination, inner_protocol, inner, hop_limit=fixed[7])
    extensions = bytearray(extensions)
    extensions[last] = inner_protocol
    return raw_ipv6(source, destination, inner_protocol, inner, hop_limit=fixed[7],
                    extension=bytes(extensions), extension_type=fixed[6])


def answer_from_home_agent(f):
    """Anything the home agent could send back about a BU: a Mobility Header (BA, BE), ESP
    or an ICMPv6 error message (RFC 4443 §2.1: types below 128)."""
    p = parse(f)
    if p.source not in (HA, HA_FOREIGN):
        return False
    if p.protocol == IPPROTO_ICMPV6:
        return len(p.upper) > 0 and p.upper[0] < 128
    return p.protocol in (IPPROTO_MH, IPPROTO_ESP)


def is_esp(spi):
    def predicate(f):
        p = parse(f)
        return p.protocol == IPPROTO_ESP and esp_spi_and_sequence(p.raw)[0] == spi
    return predicate


# ---------------------------------------------------------------------------------------------
# RFC 4285 messages, built and checked by hand


def ntp_now(offset_seconds=0.0):
    """RFC 4285 §6: NTP format, seconds since 1900 in the high 32 bits, fraction below."""
    now = time.time() + offset_seconds + NTP_UNIX_OFFSET
    return (int(now) << 32) | int((now % 1) * (1 << 32))


def mn_ha_authenticator(key, care_of, home, mh_up_to_spi):
    """RFC 4285 §5.2: First(96, HMAC_SHA1(key, CoA | HoA | MH Data)), MH Data = the MH up
    to and including the Mobility SPI, with the Checksum zero."""
    data = bytes(mh_up_to_spi[:4]) + b"\0\0" + bytes(mh_up_to_spi[6:])
    return hmac.new(key, addr_bytes(care_of) + addr_bytes(home) + data,
                    hashlib.sha1).digest()[:12]


def authenticated_bu(key, sequence, timestamp, spi=AUTH_SPI, lifetime_units=100, home=HOME,
                     care_of=COA, identifier=NAI, corrupt=False):
    """A BU (RFC 6275 §6.1.7) with Alternate CoA, MN-ID (RFC 4283), Replay Protection
    (RFC 4285 §6, 8n+2) and, last, the MN-HA authentication option (RFC 4285 §5, 4n+1): it
    starts at 8n+5 so that it ends the 8-octet-aligned message without padding after it."""
    message = bytes([59, 0, MH_BU, 0, 0, 0]) + struct.pack("!HBBH", sequence, BU_H | BU_A, 0,
                                                         lifetime_units)
    message += pad_to(len(message), 8, 6) + bytes([OPT_ALT_COA, 16]) + addr_bytes(care_of)
    if identifier:
        message += bytes([OPT_MN_ID, 1 + len(identifier), MN_ID_SUBTYPE_NAI]) + identifier
    if timestamp is not None:
        message += pad_to(len(message), 8, 2) + bytes([OPT_REPLAY, 8]) + \
            struct.pack("!Q", timestamp)
    message += pad_to(len(message), 8, 5)
    message += bytes([OPT_AUTH, 17, AUTH_SUBTYPE_MN_HA]) + struct.pack("!I", spi)
    total = len(message) + 12
    assert total % 8 == 0
    message = message[:1] + bytes([total // 8 - 1]) + message[2:]
    authenticator = mn_ha_authenticator(key, care_of, home, message)
    if corrupt:
        authenticator = bytes([authenticator[0] ^ 0x01]) + authenticator[1:]
    message += authenticator
    checksum = pseudo_header_checksum(home, HA, IPPROTO_MH, message)
    message = message[:4] + struct.pack("!H", checksum) + message[6:]
    return mh_packet(care_of, HA, message, home_address=home)


def authenticated_ba(key, care_of, sequence, timestamp, status=0, lifetime_units=30,
                     spi=AUTH_SPI, home=HOME):
    """The home agent's BA (RFC 6275 §6.1.8) signed as RFC 4285 §5 has it: Replay Protection
    (8n+2), then the MN-HA option last (8n+5); to the care-of address with a Type 2 Routing
    header holding the home address (§6.4), the checksum computed to the home address."""
    message = bytes([59, 0, MH_BA, 0, 0, 0, status, 0]) + struct.pack("!HH", sequence,
                                                                     lifetime_units)
    message += pad_to(len(message), 8, 2) + bytes([OPT_REPLAY, 8]) + struct.pack("!Q", timestamp)
    message += pad_to(len(message), 8, 5)
    message += bytes([OPT_AUTH, 17, AUTH_SUBTYPE_MN_HA]) + struct.pack("!I", spi)
    total = len(message) + 12
    assert total % 8 == 0
    message = message[:1] + bytes([total // 8 - 1]) + message[2:]
    message += mn_ha_authenticator(key, care_of, home, message)
    checksum = pseudo_header_checksum(HA, home, IPPROTO_MH, message)
    message = message[:4] + struct.pack("!H", checksum) + message[6:]
    return raw_ipv6(HA, care_of, IPPROTO_MH, message,
                    extension=type2_routing_header(IPPROTO_MH, home),
                    extension_type=IPPROTO_ROUTING)


def unsigned_ba(care_of, sequence, lifetime_units=30, home=HOME):
    """The same BA (status 0) without any RFC 4285 option."""
    body = struct.pack("!BBHH", 0, 0, sequence, lifetime_units)
    ba = mobility_header(MH_BA, body, source=HA, destination=home)
    return raw_ipv6(HA, care_of, IPPROTO_MH, ba,
                    extension=type2_routing_header(IPPROTO_MH, home),
                    extension_type=IPPROTO_ROUTING)


# ---------------------------------------------------------------------------------------------
# The home agent tests


class SecureHomeAgentTestCase(NamespaceTestCase):
    """A home agent whose configuration ends with the [security] text start_home_agent gets."""

    def start_home_agent(self, security_text):
        self.ha, self.peer = build_topology(self)
        self.before = snapshot(self.ha)
        self.daemon = self.new_daemon(self.ha, "ha", HA_CONFIG + security_text).start()
        self.coa_port = self.open_port(self.peer, "coa0")
        self.sent = []  # the frames sent and received, for the pcap
        self.received = []

    def send(self, packet):
        f = frame(PEER_COA_MAC, HA_FOREIGN_MAC, packet)
        f.time = time.time()
        self.sent.append(f)
        self.coa_port.send(f)

    def security(self):
        return self.daemon.ctl("show", "stats").get("security", {})

    def assert_dropped(self, before, counter, what):
        """No answer within 1 s (RFC 6275 §5.1: dropped silently), and the drop counted once
        in `counter`, in no other drop counter of the "security" section."""
        unwanted = self.coa_port.expect_none(answer_from_home_agent, timeout=1.0)
        self.assertIsNone(unwanted, "%s was answered: %r\nlog:\n%s" %
                          (what, unwanted, self.daemon.log()))

        def counted():
            now = self.security()
            return now if now.get(counter, 0) >= before.get(counter, 0) + 1 else None
        after = wait_until(counted, timeout=2, what="%s counted in %s" % (what, counter))
        changes = {name: after[name] - before.get(name, 0) for name in after
                   if name.startswith("dropped") and after[name] != before.get(name, 0)}
        self.assertEqual(changes, {counter: 1}, "%s: security counters before %s after %s\n"
                         "log:\n%s" % (what, before, after, self.daemon.log()))
        return after

    def stop_and_assert_clean(self):
        """SIGTERM: exit 0 and nothing left in the kernel (as in the other daemon tests)."""
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.ha, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.ha), daemon=self.daemon)


class EspHomeAgentTestCase(SecureHomeAgentTestCase):
    SUITE = "aes-gcm-16"

    def start_esp_home_agent(self, suite=None, with_other=True):
        """A home agent serving HOME (and OTHER_HOME) with ESP-protected signalling."""
        suite = suite or self.SUITE
        self.mn = EspPeer(HOME, suite)
        self.other = EspPeer(OTHER_HOME, suite)
        text = '\n[security]\nsignalling = "esp"\n'
        text += esp_entry(HOME, suite, self.mn.write_key_file(self.workdir), SPIS[HOME])
        if with_other:
            text += esp_entry(OTHER_HOME, suite, self.other.write_key_file(self.workdir),
                              SPIS[OTHER_HOME])
        self.start_home_agent(text)

    def expect_protected_ba(self, mn, sequence, timeout=4.0):
        """The BA for `sequence` (RFC 3776 §3.2): IPv6(HA -> CoA) / RH2{HoA} / ESP(ha_to_mn).
        Returns (packet as received (bytes), opened packet (Parsed), Mobility)."""
        got = self.coa_port.expect(is_esp(mn.spis[1]), timeout=timeout,
                                   what="an ESP packet with SPI 0x%x" % mn.spis[1])
        self.received.append(got)
        protected = bytes(got[IPv6])
        outer = Parsed(protected)
        self.assertEqual((outer.source, outer.destination), (HA, COA))
        self.assertEqual(outer.headers, [IPPROTO_ROUTING], "RH2 outside ESP: " + protected.hex())
        self.assertEqual(outer.rh2, (1, mn.home, 2), "RFC 6275 §6.4 Type 2 RH with the HoA")
        self.assertEqual(outer.protocol, IPPROTO_ESP)
        opened = Parsed(open_esp(mn.inbound, protected))
        self.assertEqual(opened.protocol, IPPROTO_MH, "ESP Next Header: " + opened.raw.hex())
        ba = Mobility(opened.upper)
        self.assertEqual(ba.type, MH_BA, ba)
        self.assertEqual(ba.sequence, sequence, ba)
        self.assertTrue(checksum_valid(opened), "MH checksum with the home address as "
                        "destination (RFC 6275 §6.1.1): " + opened.raw.hex())
        self.assertEqual((ba.header_len + 1) * 8, len(opened.upper))
        return protected, opened, ba

    def register(self, mn, sequence, lifetime_units=100):
        self.coa_port.drain()
        self.send(mn.binding_update(sequence, lifetime_units))
        return self.expect_protected_ba(mn, sequence)

    def assert_binding(self, home, sequence):
        self.assertEqual([(b["home_address"], b["care_of_address"], b["sequence"])
                          for b in self.daemon.bindings() if b["home_address"] == home],
                         [(home, COA, sequence)], self.daemon.log())

    def tshark(self, pcap, entries):
        """Runs tshark 4.0 on `pcap` with an ESP SA table (its esp_sa UAT file: protocol,
        source, destination, SPI, encryption, key, authentication, key); returns its rows
        (frame number, SPI, MH type, BU sequence, BA status, BA sequence, ICV good)."""
        config_home = tempfile.mkdtemp(prefix="tshark-", dir=self.workdir)
        os.makedirs(os.path.join(config_home, "wireshark"))
        with open(os.path.join(config_home, "wireshark", "esp_sa"), "w") as f:
            for entry in entries:
                f.write(",".join('"%s"' % field for field in entry) + "\n")
        done = subprocess.run(
            ["tshark", "-r", pcap, "-o", "esp.enable_encryption_decode:TRUE",
             "-o", "esp.enable_authentication_check:TRUE", "-T", "fields",
             "-e", "frame.number", "-e", "esp.spi", "-e", "mip6.mhtype", "-e", "mip6.bu.seqnr",
             "-e", "mip6.ba.status", "-e", "mip6.ba.seqnr", "-e", "esp.icv_good"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
            env=dict(os.environ, XDG_CONFIG_HOME=config_home, HOME=config_home))
        self.assertEqual(done.returncode, 0, done.stderr)
        return [line.split("\t") for line in done.stdout.splitlines()]

    def tshark_entries(self, mn):
        """Wireshark matches an SA on the addresses its selectors see (RFC 4877 §4.2): the
        Home Address option's address as the source of the BU, the Type 2 Routing header's
        as the destination of the BA."""
        spec = SUITES[mn.suite]
        rows = []
        for spi, keys, source, destination in (
                (mn.spis[0], mn.keys["mn_to_ha"], mn.home, HA),
                (mn.spis[1], mn.keys["ha_to_mn"], HA, mn.home)):
            rows.append(("IPv6", source, destination, "0x%08x" % spi, spec["tshark_encryption"],
                         "0x" + keys["encryption"].hex(), spec["tshark_authentication"],
                         "0x" + keys["authentication"].hex()))
        return rows


class EspHomeRegistrationTest(EspHomeAgentTestCase):
    def check_suite(self, suite):
        self.start_esp_home_agent(suite)
        before = self.security()
        protected, opened, ba = self.register(self.mn, 7)
        # RFC 6275 §10.3.1: accepted; RFC 4303 §3.3.3: the SA's first packet has sequence 1.
        self.assertEqual(ba.status, 0, "%r\n%s" % (ba, self.daemon.log()))
        self.assertEqual(esp_spi_and_sequence(protected), (self.mn.spis[1], 1))
        self.assertGreater(ba.lifetime_units, 0)
        self.assertLessEqual(ba.lifetime_units * 4, MAX_LIFETIME)
        self.assert_binding(HOME, 7)
        bindings = [b for b in self.daemon.bindings() if b["home_address"] == HOME]
        self.assertIs(bindings[0]["home_registration"], True)

        # A refresh: the next BA carries the next ESP sequence number.
        protected, _opened, ba = self.register(self.mn, 8)
        self.assertEqual(ba.status, 0)
        self.assertEqual(esp_spi_and_sequence(protected), (self.mn.spis[1], 2))
        self.assert_binding(HOME, 8)
        after = self.security()
        self.assertEqual(after["esp_received"] - before.get("esp_received", 0), 2, after)
        self.assertEqual(after["esp_opened"] - before.get("esp_opened", 0), 2, after)
        self.assertEqual(after["esp_sent"] - before.get("esp_sent", 0), 2, after)

        # A corrupted ICV (last octet of the packet) is dropped (RFC 4303 §3.4.4).
        bad = bytearray(self.mn.binding_update(9))
        bad[-1] ^= 0x01
        self.send(bytes(bad))
        self.assert_dropped(after, "dropped_esp_authentication", "a BU with a corrupted ICV")
        self.assert_binding(HOME, 8)

        # tshark decrypts both directions with the same keys and verifies their ICVs.
        pcap = os.path.join(self.workdir, "%s.pcap" % suite)
        wrpcap(pcap, [self.sent[0], self.received[0], self.sent[1], self.received[1]])
        rows = self.tshark(pcap, self.tshark_entries(self.mn))
        out, back = "0x%08x" % self.mn.spis[0], "0x%08x" % self.mn.spis[1]
        self.assertEqual([row[1:6] for row in rows],
                         [[out, str(MH_BU), "7", "", ""], [back, str(MH_BA), "", "0", "7"],
                          [out, str(MH_BU), "8", "", ""], [back, str(MH_BA), "", "0", "8"]],
                         "tshark rows (frame, SPI, MH type, BU seq, BA status, BA seq): %r" %
                         rows)
        self.assertEqual([row[6] for row in rows], ["1"] * 4, "tshark: ICVs good, %r" % rows)

        self.stop_and_assert_clean()

    def test_aes_gcm_16_bu_in_esp_gets_ba_in_esp_rfc3776_3(self):
        self.check_suite("aes-gcm-16")

    def test_aes_cbc_hmac_sha256_bu_in_esp_gets_ba_in_esp_rfc3776_3(self):
        self.check_suite("aes-cbc-hmac-sha256")

    def test_3des_cbc_hmac_sha1_bu_in_esp_gets_ba_in_esp_rfc3776_3(self):
        self.check_suite("3des-cbc-hmac-sha1")


class EspPolicyTest(EspHomeAgentTestCase):
    def setUp(self):
        super().setUp()
        self.start_esp_home_agent()
        _protected, _opened, ba = self.register(self.mn, 7)
        self.assertEqual(ba.status, 0, self.daemon.log())

    def assert_kept_and_stop(self):
        """The first registration survived what the test sent; then SIGTERM, no trace."""
        self.assert_binding(HOME, 7)
        self.stop_and_assert_clean()

    def test_unprotected_bu_is_dropped_silently_5_1_10_3_1(self):
        before = self.security()
        ha_before = self.daemon.stats("home_agent")
        mh = binding_update(8, BU_H | BU_A, 100, alternate_care_of=COA, source=HOME,
                            destination=HA)
        self.coa_port.drain()
        self.send(mh_packet(COA, HA, mh, home_address=HOME))
        self.assert_dropped(before, "dropped_unprotected_signalling", "an unprotected BU")
        self.assertEqual(self.daemon.stats("home_agent").get("registrations"),
                         ha_before.get("registrations"))
        self.assert_kept_and_stop()

    def test_wrong_key_is_dropped_rfc4303_3_4_4(self):
        before = self.security()
        forger = EspPeer(HOME, self.SUITE)  # the right SPIs, other keys
        # A sequence number the real SA never used: only the ICV can reject it.
        self.coa_port.drain()
        self.send(forger.binding_update(8, seq_num=50))
        self.assert_dropped(before, "dropped_esp_authentication",
                            "a BU under the right SPI with a wrong key")
        self.assert_kept_and_stop()

    def test_replayed_esp_packet_is_dropped_rfc4303_3_4_3(self):
        packet = self.mn.binding_update(8)
        self.coa_port.drain()
        self.send(packet)
        _protected, _opened, ba = self.expect_protected_ba(self.mn, 8)
        self.assertEqual(ba.status, 0)
        before = self.security()
        self.coa_port.drain()
        self.send(packet)
        self.assert_dropped(before, "dropped_esp_replayed", "the same ESP packet again")
        self.assert_binding(HOME, 8)
        self.stop_and_assert_clean()

    def test_sequence_number_left_of_the_window_is_dropped_rfc4303_3_4_3(self):
        self.coa_port.drain()
        self.send(self.mn.binding_update(8, seq_num=200))
        self.assertEqual(self.expect_protected_ba(self.mn, 8)[2].status, 0)
        before = self.security()
        self.coa_port.drain()
        # 200 - 64 = 136: an ESP sequence number of 100 is left of a 64-packet window.
        self.send(self.mn.binding_update(9, seq_num=100))
        self.assert_dropped(before, "dropped_esp_too_old", "a BU with ESP sequence 100 after 200")
        self.assert_binding(HOME, 8)
        self.stop_and_assert_clean()

    def test_sa_of_another_home_address_is_dropped_rfc4877_4_2(self):
        # RFC 4877 §4.2 / RFC 6275 §5.1: the home agent checks that the SA used is the one of
        # the home address in the Home Address option.
        before = self.security()
        self.coa_port.drain()
        self.send(self.other.binding_update(8, home=HOME))
        self.assert_dropped(before, "dropped_esp_wrong_home_address",
                            "a BU for HOME under the SA of OTHER_HOME")
        self.assertEqual([b["home_address"] for b in self.daemon.bindings()], [HOME])
        self.assert_kept_and_stop()

    def test_unknown_spi_is_dropped_rfc4303_3_4_2(self):
        before = self.security()
        stranger = EspPeer(HOME, self.SUITE, spis=(UNKNOWN_SPI, UNKNOWN_SPI + 1))
        self.coa_port.drain()
        self.send(stranger.binding_update(8))
        self.assert_dropped(before, "dropped_esp_unknown_spi", "a BU under an unknown SPI")
        self.assert_kept_and_stop()

    def test_esp_shorter_than_its_header_is_a_malformed_chain_rfc4303_2(self):
        # 6 octets: not even SPI + Sequence Number. The extension-header walk itself fails
        # (the ESP header is cut), before any SA is looked at: the daemon's intake counts it as
        # malformed, like any other broken chain, and the security section sees nothing.
        before = self.security()
        before_daemon = self.daemon.stats("daemon")
        packet = self.mn.binding_update(8)
        fixed, extensions, _last, esp = split_at_esp(packet)
        self.coa_port.drain()
        self.send(fixed[:4] + struct.pack("!H", len(extensions) + 6) + fixed[6:] + extensions +
                  esp[:6])
        self.assertIsNone(self.coa_port.expect_none(answer_from_home_agent, timeout=1.0))
        wait_until(lambda: self.daemon.stats("daemon")["dropped_malformed"] ==
                   before_daemon["dropped_malformed"] + 1, timeout=2,
                   what="the cut ESP header counted in daemon.dropped_malformed")
        after = self.security()
        self.assertEqual({k: v for k, v in after.items() if k.startswith("dropped")},
                         {k: v for k, v in before.items() if k.startswith("dropped")})
        self.assert_kept_and_stop()

    def test_truncated_esp_is_dropped_rfc4303_2(self):
        # 12 octets: SPI and Sequence Number, but no room for an IV and an ICV.
        for length in (12,):
            with self.subTest(esp_octets=length):
                before = self.security()
                packet = self.mn.binding_update(8)
                fixed, extensions, _last, esp = split_at_esp(packet)
                truncated = esp[:length]
                self.coa_port.drain()
                self.send(fixed[:4] + struct.pack("!H", len(extensions) + len(truncated)) +
                          fixed[6:] + extensions + truncated)
                self.assert_dropped(before, "dropped_esp_truncated",
                                    "a %d-octet ESP header" % length)
        self.assert_kept_and_stop()

    def test_other_mobile_node_registers_with_its_own_sa_while_the_first_stays_5_1(self):
        _protected, _opened, ba = self.register(self.other, 3)
        self.assertEqual(ba.status, 0)
        self.assert_binding(OTHER_HOME, 3)
        self.assert_kept_and_stop()


class EspPrefixDiscoveryTest(EspHomeAgentTestCase):
    def test_mps_in_esp_gets_mpa_in_esp_rfc3776_3_10_6_2(self):
        self.start_esp_home_agent(with_other=False)
        self.assertEqual(self.register(self.mn, 7)[2].status, 0)
        # RFC 6275 §6.7: Mobile Prefix Solicitation, Identifier, Reserved; checksum with the
        # home address as source (§6.3), from the care-of address with a Home Address option.
        mps = icmpv6(ICMPV6_MPS, 0, struct.pack("!HH", 0x4242, 0), HOME, HA)
        plain = raw_ipv6(COA, HA, IPPROTO_ICMPV6, mps,
                         extension=home_address_option_header(IPPROTO_ICMPV6, HOME))

        # Unprotected: dropped (RFC 3776 §3: MPS and MPA are protected like BU and BA).
        before = self.security()
        self.coa_port.drain()
        self.send(plain)
        self.assert_dropped(before, "dropped_unprotected_signalling", "an unprotected MPS")

        self.coa_port.drain()
        self.send(self.mn.protect(plain))
        got = self.coa_port.expect(is_esp(self.mn.spis[1]), timeout=4,
                                   what="the MPA in ESP\n" + self.daemon.log())
        outer = parse(got)
        self.assertEqual((outer.source, outer.destination, outer.rh2),
                         (HA, COA, (1, HOME, 2)), "RFC 3776 §3.3: RH2 outside ESP")
        self.assertEqual(esp_spi_and_sequence(outer.raw), (self.mn.spis[1], 2))
        opened = Parsed(open_esp(self.mn.inbound, outer.raw))
        self.assertEqual(opened.protocol, IPPROTO_ICMPV6)
        self.assertEqual(opened.upper[0], ICMPV6_MPA, opened.raw.hex())
        self.assertEqual(struct.unpack("!H", opened.upper[4:6])[0], 0x4242,
                         "RFC 6275 §6.8: the solicitation's Identifier")
        self.assertTrue(checksum_valid(opened), "ICMPv6 checksum to the home address: " +
                        opened.raw.hex())
        self.stop_and_assert_clean()


class EspTunnelTest(EspHomeAgentTestCase):
    """RFC 4877 §4.3: HoTI and HoT between the mobile node and its home agent in ESP tunnel
    mode. The correspondent is THIRD, on the home link."""

    def setUp(self):
        super().setUp()
        self.mn = EspPeer(HOME, "aes-cbc-hmac-sha256", spis=TUNNEL_SPIS)
        self.start_home_agent('\n[security]\nsignalling = "esp"\n' + esp_entry(
            HOME, self.mn.suite, self.mn.write_key_file(self.workdir), TUNNEL_SPIS))
        self.home_port = self.open_port(self.peer, "mn0")
        self.assertEqual(self.register(self.mn, 7)[2].status, 0, self.daemon.log())

    def hoti(self, cookie):
        """IPv6(CoA -> HA) / IPv6(HoA -> CN) / MH HoTI (RFC 6275 §6.1.3, §11.6.1)."""
        inner = mh_packet(HOME, THIRD, init_message(MH_HOTI, cookie, HOME, THIRD))
        return raw_ipv6(COA, HA, IPPROTO_IPV6, inner)

    def forwarded_hoti(self, cookie):
        def predicate(f):
            found = mobility(f)
            return (found is not None and found[1].type == MH_HOTI and
                    found[1].raw[8:16] == cookie)
        return predicate

    def test_hoti_in_esp_tunnel_is_forwarded_and_hot_comes_back_in_esp_rfc4877_4_3(self):
        cookie = b"tunnel01"
        self.home_port.drain()
        self.send(self.mn.protect(self.hoti(cookie), sa=self.mn.tunnel_outbound))
        got = self.home_port.expect(self.forwarded_hoti(cookie), timeout=3,
                                    what="the HoTI forwarded on the home link\n" +
                                    self.daemon.log())
        self.assertEqual((parse(got).source, parse(got).destination), (HOME, THIRD))

        # The correspondent answers the home address: the home agent tunnels the HoT in ESP.
        body = struct.pack("!H", 5) + cookie + b"hometokn"
        hot = mobility_header(MH_HOT, body, source=THIRD, destination=HOME)
        self.coa_port.drain()
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC, mh_packet(THIRD, HOME, hot)))
        got = self.coa_port.expect(is_esp(self.mn.spis[3]), timeout=3,
                                   what="the HoT in ESP tunnel mode\n" + self.daemon.log())
        outer = parse(got)
        self.assertEqual((outer.source, outer.destination, outer.headers), (HA, COA, []))
        opened = Parsed(open_esp(self.mn.tunnel_inbound, outer.raw))
        self.assertEqual(opened.protocol, IPPROTO_IPV6, "tunnel mode: an inner IPv6 packet")
        inner = Parsed(opened.upper)
        self.assertEqual((inner.source, inner.destination), (THIRD, HOME))
        found = mobility(inner.raw)
        self.assertIsNotNone(found, inner.raw.hex())
        self.assertEqual((found[1].type, found[1].cookie), (MH_HOT, cookie))
        self.stop_and_assert_clean()

    def test_hoti_in_a_plain_tunnel_is_dropped_rfc4877_4_3(self):
        before = self.security()
        self.home_port.drain()
        self.send(self.hoti(b"plain001"))
        leaked = self.home_port.expect_none(self.forwarded_hoti(b"plain001"), timeout=1.0)
        self.assertIsNone(leaked, "a HoTI outside ESP was forwarded")
        after = wait_until(
            lambda: (lambda now: now if now.get("dropped_unprotected_tunnel", 0) >
                     before.get("dropped_unprotected_tunnel", 0) else None)(self.security()),
            timeout=2, what="dropped_unprotected_tunnel to grow")
        self.assertEqual(after["dropped_unprotected_tunnel"] -
                         before.get("dropped_unprotected_tunnel", 0), 1, after)
        self.stop_and_assert_clean()


class EspTunnelPayloadTest(EspHomeAgentTestCase):
    """RFC 6275 §5.1 ("MAY"): with protect_tunnel_payload, every packet the home agent
    tunnels to the mobile node, and every one it accepts reverse-tunnelled, is in ESP tunnel
    mode under the tunnel SAs. THIRD, on the home link, is the correspondent."""

    def setUp(self):
        super().setUp()
        self.mn = EspPeer(HOME, "aes-cbc-hmac-sha256", spis=TUNNEL_SPIS)
        self.start_home_agent('\n[security]\nsignalling = "esp"\n' + esp_entry(
            HOME, self.mn.suite, self.mn.write_key_file(self.workdir), TUNNEL_SPIS) +
            "protect_tunnel_payload = true\n")
        self.home_port = self.open_port(self.peer, "mn0")
        self.assertEqual(self.register(self.mn, 7)[2].status, 0, self.daemon.log())

    def udp(self, source, destination, payload, ports):
        """UDP with a valid checksum, so the inner packet is what a host would send."""
        udp = struct.pack("!HHHH", ports[0], ports[1], 8 + len(payload), 0) + payload
        checksum = pseudo_header_checksum(source, destination, IPPROTO_UDP, udp)
        return udp[:6] + struct.pack("!H", checksum) + udp[8:]

    def test_protect_tunnel_payload_puts_tunnelled_data_in_esp_rfc6275_5_1(self):
        # Home link -> home address: tunnelled to the care-of address in ESP (§10.4.2, §5.1).
        payload = b"to the home address, in ESP tunnel mode"
        udp = self.udp(THIRD, HOME, payload, (40000, 9000))
        self.coa_port.drain()
        self.home_port.send(frame(PEER_HOME_MAC, HA_HOME_MAC,
                                  raw_ipv6(THIRD, HOME, IPPROTO_UDP, udp)))
        got = self.coa_port.expect(is_esp(self.mn.spis[3]), timeout=3,
                                   what="the data packet in ESP tunnel mode\n" +
                                   self.daemon.log())
        outer = parse(got)
        self.assertEqual((outer.source, outer.destination, outer.headers), (HA, COA, []))
        self.assertEqual(esp_spi_and_sequence(outer.raw), (self.mn.spis[3], 1),
                         "the tunnel SA's first packet")
        opened = Parsed(open_esp(self.mn.tunnel_inbound, outer.raw))
        self.assertEqual(opened.protocol, IPPROTO_IPV6, "tunnel mode: an inner IPv6 packet")
        # The original packet, forwarded once by the home agent (hop limit 64 -> 63).
        self.assertEqual(opened.upper.hex(),
                         raw_ipv6(THIRD, HOME, IPPROTO_UDP, udp, hop_limit=63).hex())
        leaked = self.coa_port.expect_none(
            lambda f: parse(f).protocol == IPPROTO_IPV6 and payload in parse(f).upper, 0.5)
        self.assertIsNone(leaked, "a plain IPv6-in-IPv6 copy was sent too")

        # Reverse tunnel, plain IPv6-in-IPv6: dropped and counted.
        back = b"from the home address, reverse tunnelled"
        inner = raw_ipv6(HOME, THIRD, IPPROTO_UDP, self.udp(HOME, THIRD, back, (9000, 40000)))

        def decapsulated(f):
            p = parse(f)
            return p.protocol == IPPROTO_UDP and p.upper.endswith(back)
        before = self.security()
        self.home_port.drain()
        self.send(raw_ipv6(COA, HA, IPPROTO_IPV6, inner))
        self.assertIsNone(self.home_port.expect_none(decapsulated, timeout=1.0),
                          "a plain reverse-tunnelled packet was forwarded")
        after = wait_until(
            lambda: (lambda now: now if now.get("dropped_unprotected_tunnel", 0) >
                     before.get("dropped_unprotected_tunnel", 0) else None)(self.security()),
            timeout=2, what="dropped_unprotected_tunnel to grow")
        self.assertEqual(after["dropped_unprotected_tunnel"] -
                         before.get("dropped_unprotected_tunnel", 0), 1, after)

        # The same packet in ESP tunnel mode (tunnel_mn_to_ha): forwarded on the home link.
        self.home_port.drain()
        self.send(self.mn.protect(raw_ipv6(COA, HA, IPPROTO_IPV6, inner),
                                  sa=self.mn.tunnel_outbound))
        got = self.home_port.expect(decapsulated, timeout=3,
                                    what="the decapsulated packet on the home link\n" +
                                    self.daemon.log())
        delivered = parse(got)
        self.assertEqual((delivered.source, delivered.destination), (HOME, THIRD))
        self.assertEqual(delivered.upper, Parsed(inner).upper)
        self.assertEqual(self.security()["dropped_unprotected_tunnel"],
                         after["dropped_unprotected_tunnel"])
        self.stop_and_assert_clean()


class AuthOptionTest(SecureHomeAgentTestCase):
    def setUp(self):
        super().setUp()
        self.key = os.urandom(16)
        key_file = write_secret(os.path.join(self.workdir, "mn100.auth"),
                                'key = "%s"\n' % self.key.hex())
        self.start_home_agent("""
[security]
signalling = "auth-option"
timestamp_window = 7

[[security.auth_option]]
home_address = "%s"
spi = %d
key_file = "%s"
identifier = "%s"
""" % (HOME, AUTH_SPI, key_file, NAI.decode()))

    def expect_ba(self, sequence, timeout=4.0):
        def predicate(f):
            found = mobility(f)
            return found is not None and found[1].type == MH_BA and found[1].sequence == sequence
        got = self.coa_port.expect(predicate, timeout=timeout,
                                   what="BA (seq %d)\nlog:\n%s" % (sequence, self.daemon.log()))
        return mobility(got)

    def assert_authenticated_ba(self, parsed, ba):
        """RFC 4285 §5: the BA carries an MN-HA option, last, that verifies with the key over
        CoA (the IPv6 destination) | HoA (the Type 2 Routing header's address) | MH data."""
        self.assertEqual((parsed.source, parsed.destination, parsed.rh2),
                         (HA, COA, (1, HOME, 2)))
        self.assertTrue(checksum_valid(parsed), parsed.raw.hex())
        self.assertTrue(ba.options, "BA without options: %r" % ba)
        kind, value, offset = ba.options[-1]
        self.assertEqual(kind, OPT_AUTH, "the MN-HA option is the last one: %r" % ba.options)
        self.assertEqual(len(value), 17, "Subtype, SPI and a 96-bit authenticator")
        self.assertEqual(value[0], AUTH_SUBTYPE_MN_HA)
        self.assertEqual(struct.unpack("!I", value[1:5])[0], AUTH_SPI)
        self.assertEqual(offset % 4, 1, "4n+1 alignment")
        expected = mn_ha_authenticator(self.key, COA, HOME, ba.raw[:offset + 7])
        self.assertEqual(value[5:].hex(), expected.hex(), "authenticator of %s" % ba.raw.hex())

    def register(self, sequence):
        self.coa_port.drain()
        self.send(authenticated_bu(self.key, sequence, ntp_now()))
        parsed, ba = self.expect_ba(sequence)
        self.assertEqual(ba.status, 0, "%r\n%s" % (ba, self.daemon.log()))
        self.assert_authenticated_ba(parsed, ba)
        return parsed, ba

    def assert_binding(self, sequence):
        self.assertEqual([(b["home_address"], b["care_of_address"], b["sequence"])
                          for b in self.daemon.bindings()], [(HOME, COA, sequence)])

    def test_authenticated_bu_gets_authenticated_ba_rfc4285_5(self):
        before = self.security()
        self.register(7)
        self.assert_binding(7)
        after = self.security()
        self.assertEqual(after["auth_verified"] - before.get("auth_verified", 0), 1, after)
        self.assertEqual(after["auth_signed"] - before.get("auth_signed", 0), 1, after)
        self.stop_and_assert_clean()

    def test_bad_authenticator_is_dropped_rfc4285_5(self):
        self.register(7)
        before = self.security()
        self.coa_port.drain()
        self.send(authenticated_bu(self.key, 8, ntp_now(), corrupt=True))
        self.assert_dropped(before, "dropped_auth_bad", "a BU with a bad authenticator")
        self.assert_binding(7)
        self.stop_and_assert_clean()

    def test_old_timestamp_is_dropped_rfc4285_6(self):
        self.register(7)
        before = self.security()
        self.coa_port.drain()
        self.send(authenticated_bu(self.key, 8, ntp_now(-60)))
        self.assert_dropped(before, "dropped_auth_timestamp",
                            "a BU with a 60 s old timestamp (window 7 s)")
        self.assert_binding(7)
        self.stop_and_assert_clean()

    def test_replayed_timestamp_is_dropped_rfc4285_6(self):
        packet = authenticated_bu(self.key, 7, ntp_now())
        self.coa_port.drain()
        self.send(packet)
        parsed, ba = self.expect_ba(7)
        self.assertEqual(ba.status, 0, self.daemon.log())
        before = self.security()
        self.coa_port.drain()
        self.send(packet)
        self.assert_dropped(before, "dropped_auth_timestamp", "the same authenticated BU again")
        self.assert_binding(7)
        self.stop_and_assert_clean()

    def test_bu_without_the_option_is_dropped_rfc4285_5(self):
        before = self.security()
        mh = binding_update(7, BU_H | BU_A, 100, alternate_care_of=COA, source=HOME,
                            destination=HA)
        self.coa_port.drain()
        self.send(mh_packet(COA, HA, mh, home_address=HOME))
        self.assert_dropped(before, "dropped_auth_missing", "a BU without the MN-HA option")
        self.assertEqual(self.daemon.bindings(), [])
        self.stop_and_assert_clean()

    def test_unknown_mobility_spi_is_dropped_rfc4285_5(self):
        before = self.security()
        self.coa_port.drain()
        self.send(authenticated_bu(self.key, 7, ntp_now(), spi=AUTH_SPI + 1))
        self.assert_dropped(before, "dropped_auth_unknown_spi", "a BU with an unknown Mobility SPI")
        self.assertEqual(self.daemon.bindings(), [])
        self.stop_and_assert_clean()


# ---------------------------------------------------------------------------------------------
# The mobile node side


class EspMobileNodeTest(NamespaceTestCase):
    """mipv6d as a mobile node with ESP-protected signalling; scapy plays the access router
    and the home agent (the topology of test_mobile_node.py)."""

    def setUp(self):
        super().setUp()
        self.mn, self.net = build_access_link(self)
        self.before = snapshot(self.mn)
        self.peer = EspPeer(HOME, "aes-cbc-hmac-sha256")
        key_file = self.peer.write_key_file(self.workdir)
        self.daemon = self.new_daemon(self.mn, "mn", MN_CONFIG + '\n[security]\nsignalling = '
                                      '"esp"\n' + esp_entry(HOME, self.peer.suite, key_file,
                                                              SPIS[HOME])).start()
        self.port = self.open_port(self.net, "ar0")

    def security(self):
        return self.daemon.ctl("show", "stats").get("security", {})

    def wait_for_protected_bu(self):
        """Advertises the foreign prefix until the mobile node sends its BU in ESP."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.port.send(router_advertisement())
            got = self.port.wait_for(is_esp(self.peer.spis[0]), timeout=1.0)
            if got is not None:
                return got
        self.fail("no ESP-protected Binding Update within 10 s; saw:\n%s\nlog:\n%s" %
                  (self.port.describe_seen(), self.daemon.log()))

    def opened_bu(self, got):
        """RFC 3776 §3.1: IPv6(CoA -> HA) / DestOpts{HAO} / ESP / MH BU {Alternate CoA}."""
        outer = parse(got)
        self.assertEqual(outer.destination, HA)
        self.assertTrue(outer.source.startswith("2001:db8:2:"), outer.source)
        self.assertEqual(outer.headers, [IPPROTO_DSTOPTS], outer.raw.hex())
        self.assertEqual(outer.home_address, HOME, "the HAO stays outside ESP")
        opened = Parsed(open_esp(self.peer.outbound, outer.raw))
        self.assertEqual(opened.protocol, IPPROTO_MH)
        self.assertEqual(opened.home_address, HOME)
        self.assertTrue(checksum_valid(opened), opened.raw.hex())
        bu = Mobility(opened.upper)
        self.assertEqual(bu.type, MH_BU, bu)
        self.assertTrue(bu.flags & BU_H and bu.flags & BU_A, bu)
        self.assertEqual(bu.option(OPT_ALT_COA), addr_bytes(outer.source),
                         "RFC 4877 §3: the Alternate CoA, inside ESP, is the care-of address")
        return outer, bu

    def home_state(self):
        homes = self.daemon.ctl("show", "bul").get("home_addresses", [])
        return homes[0].get("state") if homes else None

    def ba_packet(self, care_of, sequence, lifetime_units=30):
        body = struct.pack("!BBHH", 0, 0, sequence, lifetime_units)
        ba = mobility_header(MH_BA, body, source=HA, destination=HOME)
        return raw_ipv6(HA, care_of, IPPROTO_MH, ba,
                        extension=type2_routing_header(IPPROTO_MH, HOME),
                        extension_type=IPPROTO_ROUTING)

    def test_bu_in_esp_and_only_a_protected_ba_registers_rfc3776_3_5_1(self):
        outer, bu = self.opened_bu(self.wait_for_protected_bu())
        before = self.security()

        # An unprotected BA from the home agent is dropped (RFC 6275 §5.1, §11.7.3).
        self.port.send(frame(AR_MAC, MN_MAC, self.ba_packet(outer.source, bu.sequence)))

        def counted():
            now = self.security()
            value = now.get("dropped_unprotected_signalling", 0)
            return now if value >= before.get("dropped_unprotected_signalling", 0) + 1 else None
        after = wait_until(counted, timeout=2, what="the unprotected BA counted")
        self.assertEqual(after["dropped_unprotected_signalling"] -
                         before.get("dropped_unprotected_signalling", 0), 1, after)
        self.assertNotEqual(self.home_state(), "registered", self.daemon.log())

        # The BA for the latest BU (a retransmission may have come meanwhile), in ESP.
        latest = self.port.wait_for(is_esp(self.peer.spis[0]), timeout=3.0)
        if latest is not None:
            outer, bu = self.opened_bu(latest)
        protected = self.peer.protect(self.ba_packet(outer.source, bu.sequence),
                                      sa=self.peer.inbound)
        self.assertEqual(Parsed(protected).headers, [IPPROTO_ROUTING], protected.hex())
        self.port.send(frame(AR_MAC, MN_MAC, protected))
        wait_until(lambda: self.home_state() == "registered", timeout=3,
                   what="show bul: registered after the protected BA\n" + self.daemon.log())
        self.assertGreaterEqual(self.security().get("esp_opened", 0), 1)

        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.mn, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.mn), ignore=is_slaac,
                                 daemon=self.daemon)


class AuthOptionMobileNodeTest(NamespaceTestCase):
    """mipv6d as a mobile node with signalling = "auth-option" (RFC 4285); scapy plays the
    access router and the home agent (the topology of test_mobile_node.py)."""

    def setUp(self):
        super().setUp()
        self.mn, self.net = build_access_link(self)
        self.before = snapshot(self.mn)
        self.key = os.urandom(20)
        key_file = write_secret(os.path.join(self.workdir, "mn100.auth"),
                                'key = "%s"\n' % self.key.hex())
        self.daemon = self.new_daemon(self.mn, "mn", MN_CONFIG + """
[security]
signalling = "auth-option"
timestamp_window = 7

[[security.auth_option]]
home_address = "%s"
spi = %d
key_file = "%s"
identifier = "%s"
""" % (HOME, AUTH_SPI, key_file, NAI.decode())).start()
        self.port = self.open_port(self.net, "ar0")

    def home_state(self):
        homes = self.daemon.ctl("show", "bul").get("home_addresses", [])
        return homes[0].get("state") if homes else None

    @staticmethod
    def is_bu(f):
        found = mobility(f)
        return found is not None and found[1].type == MH_BU and found[0].destination == HA

    def wait_for_bu(self):
        """Advertises the foreign prefix until the mobile node sends its BU."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.port.send(router_advertisement())
            got = self.port.wait_for(self.is_bu, timeout=1.0)
            if got is not None:
                return got
        self.fail("no Binding Update within 10 s; saw:\n%s\nlog:\n%s" %
                  (self.port.describe_seen(), self.daemon.log()))

    def signed_bu(self, got):
        """RFC 4285 §5, §6, RFC 4283: MN-ID (NAI), Replay Protection with a fresh timestamp
        and, last, the MN-HA option verifying with the key over CoA | HoA | MH data."""
        outer, bu = mobility(got)
        self.assertTrue(outer.source.startswith("2001:db8:2:"), outer.source)
        self.assertEqual(outer.home_address, HOME)
        self.assertTrue(checksum_valid(outer), outer.raw.hex())
        self.assertTrue(bu.flags & BU_H and bu.flags & BU_A, bu)
        self.assertEqual(bu.option(OPT_MN_ID), bytes([MN_ID_SUBTYPE_NAI]) + NAI, bu)
        replay = bu.option(OPT_REPLAY)
        self.assertIsNotNone(replay, bu)
        self.assertEqual(len(replay), 8, bu)
        drift = (struct.unpack("!Q", replay)[0] - ntp_now()) / float(1 << 32)
        self.assertLess(abs(drift), 3.0, "timestamp %.3f s from now" % drift)
        kind, value, offset = bu.options[-1]
        self.assertEqual(kind, OPT_AUTH, "the MN-HA option is the last one: %r" % bu.options)
        self.assertEqual(len(value), 17, bu)
        self.assertEqual(value[0], AUTH_SUBTYPE_MN_HA)
        self.assertEqual(struct.unpack("!I", value[1:5])[0], AUTH_SPI)
        self.assertEqual(offset % 4, 1, "4n+1 alignment")
        self.assertEqual(offset + 2 + 17, len(bu.raw), "nothing after the MN-HA option")
        expected = mn_ha_authenticator(self.key, outer.source, HOME, bu.raw[:offset + 7])
        self.assertEqual(value[5:].hex(), expected.hex(), "authenticator of %s" % bu.raw.hex())
        return outer, bu

    def test_mobile_node_signs_its_binding_update_rfc4285_5(self):
        outer, bu = self.signed_bu(self.wait_for_bu())
        before = self.daemon.stats("mobile_node")
        before_security = self.daemon.ctl("show", "stats").get("security", {})

        # An unsigned BA (status 0): ignored (RFC 6275 §11.7.3, protection required), counted.
        self.port.send(frame(AR_MAC, MN_MAC, unsigned_ba(outer.source, bu.sequence)))

        def counted():
            now = self.daemon.stats("mobile_node")
            value = now.get("dropped_unprotected", 0)
            return now if value >= before.get("dropped_unprotected", 0) + 1 else None
        after = wait_until(counted, timeout=2, what="the unsigned BA counted\n" +
                           self.daemon.log())
        self.assertEqual(after["dropped_unprotected"] - before.get("dropped_unprotected", 0),
                         1, after)
        self.assertNotEqual(self.home_state(), "registered", self.daemon.log())
        security = self.daemon.ctl("show", "stats").get("security", {})
        self.assertEqual(security.get("auth_verified", 0),
                         before_security.get("auth_verified", 0), security)

        # A BA for the latest BU (a retransmission may have come meanwhile), signed with a
        # fresh timestamp: registered.
        latest = self.port.wait_for(self.is_bu, timeout=3.0)
        if latest is not None:
            outer, bu = self.signed_bu(latest)
        signed = authenticated_ba(self.key, outer.source, bu.sequence, ntp_now())
        self.port.send(frame(AR_MAC, MN_MAC, signed))
        try:
            wait_until(lambda: self.home_state() == "registered", timeout=3,
                       what="show bul: registered after the signed BA")
        except AssertionError as error:
            self.fail("%s\nsent BA: %s\nstats: %r\nbul: %r\nlog:\n%s" % (
                error, signed.hex(), self.daemon.ctl("show", "stats"),
                self.daemon.ctl("show", "bul"), self.daemon.log()))
        security = self.daemon.ctl("show", "stats").get("security", {})
        self.assertEqual(security.get("auth_verified", 0) -
                         before_security.get("auth_verified", 0), 1, security)

        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.assertNoTraces(self.mn, self.daemon)
        self.assertSnapshotEqual(self.before, snapshot(self.mn), ignore=is_slaac,
                                 daemon=self.daemon)


# ---------------------------------------------------------------------------------------------
# mipv6d --check on key files


class KeyFileCheckTest(NamespaceTestCase):
    """A key file the daemon cannot trust is a configuration error (security-config.md), and
    mipv6d exits 2 on those (apps/mipv6d/main.cc, test_mipv6d_cli.py)."""

    def check(self, security_text):
        path = os.path.join(self.workdir, "check.toml")
        text = HA_CONFIG.replace("@SOCKET@", os.path.join(self.workdir, "c.sock"))
        text = text.replace("@STATE@", os.path.join(self.workdir, "c.state"))
        with open(path, "w") as f:
            f.write(text + security_text)
        return subprocess.run([MIPV6D, "--check", "--config", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=10)

    def esp_config(self, peer, key_file):
        return '\n[security]\nsignalling = "esp"\n' + esp_entry(HOME, peer.suite, key_file,
                                                                SPIS[HOME])

    def test_check_accepts_key_files_of_each_suite_mode_0600(self):
        for suite in SUITES:
            with self.subTest(suite=suite):
                peer = EspPeer(HOME, suite)
                done = self.check(self.esp_config(peer, peer.write_key_file(self.workdir)))
                self.assertEqual(done.returncode, 0, done)

    def test_check_refuses_a_key_file_readable_by_others(self):
        peer = EspPeer(HOME, "aes-gcm-16")
        key_file = write_secret(os.path.join(self.workdir, "open.keys"),
                                esp_key_file_text(peer.keys), mode=0o644)
        done = self.check(self.esp_config(peer, key_file))
        self.assertEqual(done.returncode, 2, done)
        self.assertIn(key_file, done.stderr)

    def test_check_refuses_a_key_of_the_wrong_length_for_the_suite(self):
        peer = EspPeer(HOME, "aes-gcm-16")
        peer.keys["mn_to_ha"]["encryption"] = os.urandom(16)  # the 4-octet salt is missing
        key_file = peer.write_key_file(self.workdir)
        done = self.check(self.esp_config(peer, key_file))
        self.assertEqual(done.returncode, 2, done)
        self.assertIn(key_file, done.stderr)
        self.assertIn("mn_to_ha", done.stderr)
        self.assertIn("encryption", done.stderr)

    def test_check_refuses_an_hmac_key_of_the_wrong_length(self):
        peer = EspPeer(HOME, "aes-cbc-hmac-sha256")
        peer.keys["ha_to_mn"]["authentication"] = os.urandom(20)  # 32 for HMAC-SHA-256
        key_file = peer.write_key_file(self.workdir)
        done = self.check(self.esp_config(peer, key_file))
        self.assertEqual(done.returncode, 2, done)
        self.assertIn(key_file, done.stderr)
        self.assertIn("ha_to_mn", done.stderr)
        self.assertIn("authentication", done.stderr)


if __name__ == "__main__":
    main()
