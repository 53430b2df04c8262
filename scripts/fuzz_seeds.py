#!/usr/bin/python3
"""Writes libFuzzer seed corpora from the hex vectors and the demo capture.

OUT/<layer>/ gets one binary file per tests/vectors/<layer>/*.hex (layers: chain, mobility,
icmpv6, fuzz regressions...), OUT/chain/ also gets every IPv6 packet of demo/registration.pcap,
and OUT/all/ gets everything. Usage: scripts/fuzz_seeds.py OUT
"""
import pathlib
import re
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def hex_bytes(text):
    text = re.sub(r"#[^\n]*", "", text)
    return bytes.fromhex(re.sub(r"[\s:]", "", text))


def pcap_ipv6_packets(path):
    """IPv6 packets of an Ethernet or raw-IPv6 pcap (little-endian, as our tools write)."""
    data = path.read_bytes()
    linktype = struct.unpack_from("<I", data, 20)[0]
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        frame = data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen
        if linktype == 1 and frame[12:14] == b"\x86\xdd":
            yield frame[14:]
        elif linktype in (101, 229):
            yield frame


def main():
    out = pathlib.Path(sys.argv[1])
    seeds = {}
    for hex_file in sorted((ROOT / "tests" / "vectors").glob("*/*.hex")):
        try:
            seeds.setdefault(hex_file.parent.name, []).append((hex_file.stem, hex_bytes(hex_file.read_text())))
        except ValueError:
            print(f"fuzz_seeds: skipping unreadable vector {hex_file}", file=sys.stderr)
    for i, pkt in enumerate(pcap_ipv6_packets(ROOT / "demo" / "registration.pcap")):
        seeds.setdefault("chain", []).append((f"demo-{i + 1}", pkt))
    for layer, items in seeds.items():
        for name, data in items:
            for directory in (out / layer, out / "all"):
                directory.mkdir(parents=True, exist_ok=True)
                (directory / f"{layer}-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
