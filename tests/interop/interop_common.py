"""What the interop tests share: running mipv6-pcap, and reading tshark's JSON.

Not a test itself (the CMake glob runs only test_*.py).
"""
import json
import logging
import os
import subprocess
import warnings

warnings.filterwarnings("ignore")
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import wrpcap  # noqa: E402

TOOL = os.environ.get("MIPV6_PCAP", "mipv6-pcap")
COA, HOA, HA, CN = "2001:db8:2::100", "2001:db8:1::100", "2001:db8:1::1", "2001:db8:3::10"
WARNING_SEVERITY = 0x00600000  # Wireshark's PI_WARN; PI_ERROR is 0x00800000


def run_tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def decode(tmp, packets):
    """Writes scapy packets to a pcap and returns mipv6-pcap's JSON object for each."""
    path = os.path.join(tmp, "scapy.pcap")
    wrpcap(path, packets)
    result = run_tool("decode", path)
    if result.returncode != 0:
        raise AssertionError("decode failed: " + result.stderr)
    return [json.loads(line) for line in result.stdout.splitlines()]


def encode(tmp, objects, link="raw"):
    """Builds a pcap from JSON objects with mipv6-pcap encode; returns its path."""
    src = os.path.join(tmp, "in.jsonl")
    out = os.path.join(tmp, "ours.pcap")
    with open(src, "w") as f:
        f.write("# built by an interop test\n\n")
        for o in objects:
            f.write(json.dumps(o) + "\n")
    result = run_tool("encode", src, out, "--link", link)
    if result.returncode != 0:
        raise AssertionError("encode failed: " + result.stderr)
    return out


class Pairs(list):
    """A JSON object as its (key, value) pairs: tshark repeats keys (one per option)."""


def flatten(node, out):
    """All (key, value) pairs of a tshark JSON tree, any depth, values in wire order."""
    if isinstance(node, Pairs):
        for key, value in node:
            if isinstance(value, (Pairs, list)):
                if key == "_ws.malformed":
                    out.setdefault(key, []).append("present")
                flatten(value, out)
            else:
                out.setdefault(key, []).append(value)
    elif isinstance(node, list):
        for item in node:
            flatten(item, out)
    return out


def tshark(path):
    """tshark's dissection of every packet in `path`, flattened to {field: [values]}."""
    result = subprocess.run(["tshark", "-r", path, "-T", "json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError("tshark failed: " + result.stderr)
    packets = json.loads(result.stdout, object_pairs_hook=Pairs)
    return [flatten(dict(dict(p)["_source"])["layers"], {}) for p in packets]
