#!/usr/bin/python3
"""Decrypts ESP packets with scapy, for the us -> scapy half of the ESP interop test.

tests/unit/ipsec/esp_test.cc writes packets that our EspSender protected to a file, one packet
a line, whitespace-separated:

    suite spi encryption_key_hex authentication_key_hex_or_- mode packet_hex

(suite as in scripts/esp_vectors.py, mode transport | tunnel). For each line this prints one
line: the hex of the decrypted packet — in transport mode the whole IPv6 packet with ESP
removed, in tunnel mode the inner packet. scapy checks the SPI, verifies the ICV (or GCM tag)
and decrypts; any failure ends the script with exit status 1 and a message on stderr.

Usage: scripts/esp_scapy_decrypt.py FILE
"""

import sys

from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation

SUITES = {
    "aes-gcm-16": ("AES-GCM", None),
    "aes-cbc-hmac-sha256": ("AES-CBC", "SHA2-256-128"),
    "3des-cbc-hmac-sha1": ("3DES", "HMAC-SHA1-96"),
}


def scapy_open(sa, packet, tunnel):
    """Verifies and decrypts with scapy's own algorithms. scapy's SecurityAssociation.decrypt()
    re-dissects the decrypted payload as the IPv6 header's first extension header, which breaks
    on a Type 2 Routing header followed by MH, so the packet is put back together here:
    transport mode, the octets before ESP with the Next Header octet that named ESP and Payload
    Length rewritten, then the payload; tunnel mode, the inner packet."""
    pkt = IPv6(packet)
    esp = pkt[ESP]
    sa.check_spi(pkt)
    sa.auth_algo.verify(esp, sa.auth_key)
    icv_size = sa.crypt_icv_size or sa.crypt_algo.icv_size or sa.auth_algo.icv_size
    plain = sa.crypt_algo.decrypt(sa, esp, sa.crypt_key, icv_size)
    if tunnel:
        if plain.nh != 41:
            raise ValueError(f"tunnel mode but Next Header {plain.nh}")
        return bytes(plain.data)
    esp_offset = len(packet) - len(bytes(esp))
    before = esp.underlayer
    next_header_offset = 6 if before is pkt else len(packet) - len(bytes(before))
    out = bytearray(packet[:esp_offset])
    out[next_header_offset] = plain.nh
    out[4:6] = (len(out) - 40 + len(plain.data)).to_bytes(2, "big")
    return bytes(out) + bytes(plain.data)


def security_association(suite, spi, enc_key, auth_key):
    crypt_algo, auth_algo = SUITES[suite]
    kwargs = dict(spi=spi, crypt_algo=crypt_algo, crypt_key=enc_key)
    if auth_algo:
        kwargs.update(auth_algo=auth_algo, auth_key=auth_key)
    return SecurityAssociation(ESP, **kwargs)


def decrypt_line(line):
    suite, spi, enc_key, auth_key, mode, packet = line.split()
    sa = security_association(suite, int(spi), bytes.fromhex(enc_key),
                              b"" if auth_key == "-" else bytes.fromhex(auth_key))
    return scapy_open(sa, bytes.fromhex(packet), mode == "tunnel").hex()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        lines = [line for line in f if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            print(decrypt_line(line))
        except Exception as error:  # scapy raises several types; all mean "did not decrypt"
            sys.exit(f"line {number}: scapy could not decrypt: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
