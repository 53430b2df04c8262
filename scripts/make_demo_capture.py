#!/usr/bin/python3
"""Builds demo/registration.pcap with scapy, an implementation independent of ours.

The capture is what a mobile node's foreign link sees when the node arrives there: router
discovery and DAD for its care-of address, home agent discovery (DHAAD), the home registration
(BU/BA), traffic through the bidirectional tunnel, return routability with a correspondent
(HoTI/HoT through the tunnel, CoTI/CoT direct), the correspondent registration authorised with
Binding Authorization Data computed as RFC 6275 §5.2 prescribes, and route-optimised traffic
(Type 2 Routing header one way, Home Address option the other).

Usage: scripts/make_demo_capture.py OUT.pcap
"""
import hashlib
import hmac
import sys

from scapy.layers.inet6 import (
    HAO, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6HAADReply, ICMPv6HAADRequest,
    ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptAdvInterval, ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU,
    MIP6MH_CoT, MIP6MH_CoTI, MIP6MH_HoT, MIP6MH_HoTI, MIP6OptAltCoA, MIP6OptBindingAuthData,
    MIP6OptBRAdvice, MIP6OptNonceIndices)
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap
import logging
import socket

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # authorize() builds MHs without IPv6

MN_MAC, AR_MAC = "02:00:00:00:01:00", "02:00:00:00:02:01"
MN_LL, AR_LL = "fe80::ff:fe00:100", "fe80::ff:fe00:201"
HOA, HA = "2001:db8:1::100", "2001:db8:1::1"
HA_ANYCAST = "2001:db8:1::fdff:ffff:ffff:fffe"   # RFC 6275 §6.5 / RFC 2526
COA, CN = "2001:db8:2::ff:fe00:100", "2001:db8:3::10"

KCN = bytes(range(20))                      # the correspondent's node key (§5.2.1)
HOME_NONCE, CAREOF_NONCE = bytes.fromhex("1111111111111111"), bytes.fromhex("2222222222222222")
HOME_NONCE_INDEX, CAREOF_NONCE_INDEX = 7, 8
HOME_COOKIE, CAREOF_COOKIE = bytes.fromhex("0a0b0c0d01020304"), bytes.fromhex("1a1b1c1d11121314")


def a(text):
    return socket.inet_pton(socket.AF_INET6, text)


def keygen_token(address, nonce, which):
    """§5.2.5/§5.2.6: First(64, HMAC_SHA1(Kcn, address | nonce | 0 or 1))."""
    mac = hmac.new(KCN, a(address) + nonce + bytes([which]), hashlib.sha1).digest()
    return int.from_bytes(mac[:8], "big")


HOME_TOKEN = keygen_token(HOA, HOME_NONCE, 0)
CAREOF_TOKEN = keygen_token(COA, CAREOF_NONCE, 1)
KBM = hashlib.sha1(HOME_TOKEN.to_bytes(8, "big") + CAREOF_TOKEN.to_bytes(8, "big")).digest()


def authorize(build):
    """§6.2.7: authenticator = First(96, HMAC_SHA1(Kbm, CoA | CN | MH with checksum 0)),
    the MH taken up to (not including) the authenticator itself."""
    mh = build(0)
    mh_bytes = bytearray(bytes(mh))
    mh_bytes[4:6] = b"\0\0"
    data = a(COA) + a(CN) + bytes(mh_bytes[:-12])
    return build(int.from_bytes(hmac.new(KBM, data, hashlib.sha1).digest()[:12], "big"))


def to_mn(pkt):
    return Ether(src=AR_MAC, dst=MN_MAC) / pkt


def from_mn(pkt):
    return Ether(src=MN_MAC, dst=AR_MAC) / pkt


def tunnel(outer_src, outer_dst, inner):
    return IPv6(src=outer_src, dst=outer_dst, nh=41) / inner


def packets():
    yield 0.000, Ether(src=MN_MAC, dst="33:33:00:00:00:02") / IPv6(src=MN_LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    yield 0.004, Ether(src=AR_MAC, dst="33:33:00:00:00:01") / IPv6(src=AR_LL, dst="ff02::1", hlim=255) / ICMPv6ND_RA(
        prf=0, H=0, routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=AR_MAC) / ICMPv6NDOptAdvInterval(
        advint=1500) / ICMPv6NDOptPrefixInfo(prefix="2001:db8:2::", prefixlen=64, R=0)
    yield 0.006, Ether(src=MN_MAC, dst="33:33:ff:00:01:00") / IPv6(src="::", dst="ff02::1:ff00:100", hlim=255) / ICMPv6ND_NS(tgt=COA)
    yield 1.010, from_mn(IPv6(src=COA, dst=HA_ANYCAST) / ICMPv6HAADRequest(id=0x4d21, R=0))
    yield 1.031, to_mn(IPv6(src=HA, dst=COA) / ICMPv6HAADReply(id=0x4d21, R=0, addresses=[HA]))
    # Home registration (§11.7.1): H and A, HAO, Alternate Care-of Address; lifetime 420 s.
    yield 1.032, from_mn(IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / MIP6MH_BU(
        seq=1000, flags="HA", mhtime=105, options=[MIP6OptAltCoA(acoa=COA)]))
    # The home agent ran DAD for the home address (about 1 s), then answers (§10.3.1).
    yield 2.054, to_mn(IPv6(src=HA, dst=COA) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA]) / MIP6MH_BA(
        status=0, flags=0, seq=1000, mhtime=105, options=[MIP6OptBRAdvice(rinter=75)]))
    # Traffic through the bidirectional tunnel (§10.4.1, §11.3.1).
    yield 2.300, to_mn(tunnel(HA, COA, IPv6(src=CN, dst=HOA) / ICMPv6EchoRequest(id=7, seq=1, data=b"mipv6")))
    yield 2.301, from_mn(tunnel(COA, HA, IPv6(src=HOA, dst=CN) / ICMPv6EchoReply(id=7, seq=1, data=b"mipv6")))
    # Return routability (§5.2): HoTI/HoT through the home agent, CoTI/CoT direct.
    yield 2.302, from_mn(tunnel(COA, HA, IPv6(src=HOA, dst=CN) / MIP6MH_HoTI(cookie=HOME_COOKIE)))
    yield 2.302, from_mn(IPv6(src=COA, dst=CN) / MIP6MH_CoTI(cookie=CAREOF_COOKIE))
    yield 2.330, to_mn(tunnel(HA, COA, IPv6(src=CN, dst=HOA) / MIP6MH_HoT(
        index=HOME_NONCE_INDEX, cookie=HOME_COOKIE, token=HOME_TOKEN.to_bytes(8, "big"))))
    yield 2.331, to_mn(IPv6(src=CN, dst=COA) / MIP6MH_CoT(
        index=CAREOF_NONCE_INDEX, cookie=CAREOF_COOKIE, token=CAREOF_TOKEN.to_bytes(8, "big")))
    # Correspondent registration (§11.7.2): Nonce Indices and Binding Authorization Data.
    bu = authorize(lambda auth: MIP6MH_BU(seq=2000, flags="A", mhtime=105, options=[
        MIP6OptNonceIndices(hni=HOME_NONCE_INDEX, coni=CAREOF_NONCE_INDEX, olen=4),
        MIP6OptBindingAuthData(authenticator=auth, olen=12)]))
    yield 2.332, from_mn(IPv6(src=COA, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / bu)
    ba = authorize(lambda auth: MIP6MH_BA(status=0, flags=0, seq=2000, mhtime=105, options=[
        MIP6OptBindingAuthData(authenticator=auth, olen=12)]))
    yield 2.360, to_mn(IPv6(src=CN, dst=COA) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA]) / ba)
    # Route-optimised traffic (§9.3.2, §11.3.1).
    yield 2.400, to_mn(IPv6(src=CN, dst=COA) / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA]) /
                       ICMPv6EchoRequest(id=7, seq=2, data=b"mipv6"))
    yield 2.401, from_mn(IPv6(src=COA, dst=CN) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) /
                         ICMPv6EchoReply(id=7, seq=2, data=b"mipv6"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    frames = []
    for t, pkt in packets():
        pkt = Ether(bytes(pkt))   # freeze lengths and checksums
        pkt.time = 1795000000 + t
        frames.append(pkt)
    wrpcap(sys.argv[1], frames)


if __name__ == "__main__":
    main()
