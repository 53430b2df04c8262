#!/usr/bin/python3
"""Regenerates the ESP interop vectors in tests/vectors/esp/ with scapy (RFC 4303).

Each vector is one packet that scapy's SecurityAssociation encrypted with a fixed key, SPI,
sequence number and IV; tests/unit/ipsec/esp_test.cc decrypts it with our EspReceiver and
unprotect() and must get the plaintext back byte for byte.

File format (one vector per file, `<name>.txt`), one `key value` pair per line, '#' comments:

    suite               aes-gcm-16 | aes-cbc-hmac-sha256 | 3des-cbc-hmac-sha1 (our names)
    spi                 decimal
    sequence            decimal, the packet's ESP Sequence Number
    encryption_key      hex (AES-GCM: key followed by the 4-octet salt, RFC 4106 §8.1)
    authentication_key  hex, or '-' for AES-GCM
    mode                transport | tunnel
    plaintext           hex: transport mode, the whole IPv6 packet before protection;
                        tunnel mode, the inner IPv6 packet
    encrypted           hex: the whole IPv6 packet as scapy sent it

Usage: scripts/esp_vectors.py [--out tests/vectors/esp]
"""

import argparse
import os
import sys

from scapy.layers.inet6 import (HAO, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrRouting, MIP6MH_BA, MIP6MH_BU)
from scapy.layers.ipsec import ESP, SecurityAssociation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from esp_scapy_decrypt import scapy_open  # noqa: E402

COA = "2001:db8:2::100"
HOA = "2001:db8:1::100"
HA = "2001:db8:1::1"

# (our suite name, scapy crypt_algo, scapy auth_algo)
SUITES = {
    "aes-gcm-16": ("AES-GCM", None),
    "aes-cbc-hmac-sha256": ("AES-CBC", "SHA2-256-128"),
    "3des-cbc-hmac-sha1": ("3DES", "HMAC-SHA1-96"),
}


def binding_update():
    """MN -> HA: IPv6 | Destination Options (Home Address option) | MH BU (RFC 6275 §9.5.1)."""
    return IPv6(src=COA, dst=HA, hlim=64) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / \
        MIP6MH_BU(seq=42, flags="AHL", mhtime=100)


def binding_ack():
    """HA -> MN: IPv6 | Type 2 Routing header | MH BA (RFC 6275 §6.4, §10.3.1)."""
    return IPv6(src=HA, dst=COA, hlim=64) / \
        IPv6ExtHdrRouting(type=2, segleft=1, addresses=[HOA]) / \
        MIP6MH_BA(status=0, seq=42, mhtime=100)


def echo_request():
    return IPv6(src=COA, dst=HA, hlim=64) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / \
        ICMPv6EchoRequest(id=7, seq=3, data=b"mipv6 esp interop")


def home_test_init():
    """The inner packet of a reverse-tunnelled HoTI-like message (RFC 4877 §4.3)."""
    return IPv6(src=HOA, dst="2001:db8:3::10", hlim=64) / \
        ICMPv6EchoRequest(id=9, seq=1, data=b"through the tunnel")


VECTORS = [
    # name, suite, spi, sequence, encryption key, authentication key, iv, mode, packet
    ("gcm128_transport_bu", "aes-gcm-16", 0x1001, 1,
     bytes(range(0x10, 0x20)) + bytes.fromhex("cafebabe"), b"",
     bytes.fromhex("0000000000000001"), "transport", binding_update),
    ("gcm256_tunnel", "aes-gcm-16", 0x1002, 77,
     bytes(range(0x40, 0x60)) + bytes.fromhex("01020304"), b"",
     bytes.fromhex("1122334455667788"), "tunnel", home_test_init),
    ("cbc_sha256_transport_ba", "aes-cbc-hmac-sha256", 0x2001, 5,
     bytes(range(0x20, 0x30)), bytes(range(0x80, 0xa0)),
     bytes(range(0xb0, 0xc0)), "transport", binding_ack),
    ("cbc256_sha256_tunnel", "aes-cbc-hmac-sha256", 0x2002, 1,
     bytes(range(0x30, 0x50)), bytes(range(0xa0, 0xc0)),
     bytes(range(0xc0, 0xd0)), "tunnel", home_test_init),
    ("3des_sha1_transport_icmp", "3des-cbc-hmac-sha1", 0x3001, 2,
     bytes(range(0x50, 0x68)), bytes(range(0x70, 0x84)),
     bytes(range(0xd0, 0xd8)), "transport", echo_request),
    ("3des_sha1_transport_bu", "3des-cbc-hmac-sha1", 0x3002, 1,
     bytes(range(0x58, 0x70)), bytes(range(0x74, 0x88)),
     bytes(range(0xd8, 0xe0)), "transport", binding_update),
    ("3des_sha1_tunnel", "3des-cbc-hmac-sha1", 0x3003, 1000,
     bytes(range(0x60, 0x78)), bytes(range(0x78, 0x8c)),
     bytes(range(0xe0, 0xe8)), "tunnel", home_test_init),
]


def security_association(suite, spi, enc_key, auth_key, mode):
    crypt_algo, auth_algo = SUITES[suite]
    kwargs = dict(spi=spi, crypt_algo=crypt_algo, crypt_key=enc_key)
    if auth_algo:
        kwargs.update(auth_algo=auth_algo, auth_key=auth_key)
    if mode == "tunnel":
        kwargs["tunnel_header"] = IPv6(src=COA, dst=HA, hlim=64)
    return SecurityAssociation(ESP, **kwargs)


def write_vector(out_dir, name, suite, spi, sequence, enc_key, auth_key, iv, mode, make):
    plain = bytes(make())
    sa = security_association(suite, spi, enc_key, auth_key, mode)
    encrypted = bytes(sa.encrypt(IPv6(plain), seq_num=sequence, iv=iv))
    # Self-check: scapy takes its own packet back.
    decrypted = scapy_open(sa, encrypted, mode == "tunnel")
    if decrypted != plain:
        sys.exit(f"{name}: scapy does not decrypt its own packet to the plaintext")
    path = os.path.join(out_dir, name + ".txt")
    with open(path, "w") as f:
        f.write(f"# Generated by scripts/esp_vectors.py with scapy: {make.__doc__ or make.__name__}"
                .rstrip() + "\n")
        f.write(f"suite {suite}\nspi {spi}\nsequence {sequence}\n")
        f.write(f"encryption_key {enc_key.hex()}\n")
        f.write(f"authentication_key {auth_key.hex() or '-'}\n")
        f.write(f"mode {mode}\nplaintext {plain.hex()}\nencrypted {encrypted.hex()}\n")
    print(os.path.normpath(path))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                               "vectors", "esp")
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for vector in VECTORS:
        write_vector(args.out, *vector)


if __name__ == "__main__":
    main()
