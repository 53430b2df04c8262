#!/usr/bin/python3
"""The mipv6-sim command end to end (docs/scenarios.md).

Runs scenarios/basic-handover.toml into a temporary directory and checks what a user gets: exit
code 0, every output file, result.json that parses, SVGs that parse as XML, pcaps that tshark
decodes with no malformed packet and no expert warning or error; a second run gives byte-identical
result.json and pcaps (the simulator is deterministic), --seed gives a different run; a bad
scenario file exits 2 with "file:line:column: key: message" on stderr, unwritable outputs exit 1,
--help exits 0 and explains the outputs. The signalling of the failure scenarios (DHAAD,
failover, MPS/MPA, Binding Error) decodes cleanly in tshark too.

Environment: MIPV6_SIM (the mipv6-sim binary), MIPV6_SCENARIOS (the scenarios/ directory).
"""
import glob
import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

SIM = os.environ.get("MIPV6_SIM", "mipv6-sim")
SCENARIOS = os.environ.get(
    "MIPV6_SCENARIOS", os.path.join(os.path.dirname(__file__), "..", "..", "scenarios"))
BASIC = os.path.join(SCENARIOS, "basic-handover.toml")
LINKS = ["home", "a", "b", "backbone", "cn"]
EXPERT_WARNING = 0x00600000  # Wireshark's PI_WARN (PI_ERROR is 0x00800000)


def run_sim(*args):
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=600)


class Pairs(list):
    """A JSON object as its (key, value) pairs: tshark repeats keys."""


def tshark_problems(path, display_filter=None):
    """Malformed packets and expert warnings in tshark's dissection of the capture at `path`
    (of the packets `display_filter` selects, if given); and how many packets it showed."""
    command = ["tshark", "-r", path, "-T", "json"]
    if display_filter:
        command += ["-Y", display_filter]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return ["tshark failed: " + result.stderr], 0
    packets = json.loads(result.stdout, object_pairs_hook=Pairs)
    found = []

    def walk(node, where):
        if isinstance(node, Pairs):
            for key, value in node:
                if "_ws.malformed" in key:
                    found.append(where + ": malformed packet")
                if key == "_ws.expert.severity" and int(value) >= EXPERT_WARNING:
                    found.append(where + ": expert warning or error")
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for number, packet in enumerate(packets, 1):
        walk(packet, "%s packet %d" % (os.path.basename(path), number))
    return found, len(packets)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class BasicHandoverRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.first = os.path.join(cls.tmp.name, "first")
        cls.second = os.path.join(cls.tmp.name, "second")
        cls.seeded = os.path.join(cls.tmp.name, "seed2")
        cls.run1 = run_sim(BASIC, "--out", cls.first)
        cls.run2 = run_sim(BASIC, "--out", cls.second, "--quiet")
        cls.run3 = run_sim(BASIC, "--out", cls.seeded, "--seed", "2", "--quiet")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_0_prints_the_summary_and_where_the_outputs_are(self):
        self.assertEqual(self.run1.returncode, 0, self.run1.stderr)
        self.assertIn("basic-handover", self.run1.stdout)
        self.assertIn("Outputs in " + self.first, self.run1.stdout.splitlines()[-1])
        with open(os.path.join(self.first, "summary.txt")) as f:
            self.assertIn(f.read(), self.run1.stdout)

    def test_quiet_prints_nothing(self):
        self.assertEqual(self.run2.returncode, 0, self.run2.stderr)
        self.assertEqual(self.run2.stdout, "")
        self.assertEqual(self.run2.stderr, "")

    def test_every_output_exists(self):
        for name in ["summary.txt", "result.json", "timeline.svg"] + \
                [link + ".pcap" for link in LINKS]:
            path = os.path.join(self.first, name)
            self.assertTrue(os.path.isfile(path), name)
            self.assertGreater(os.path.getsize(path), 0, name)
        self.assertGreaterEqual(len(glob.glob(os.path.join(self.first, "sequence-*.svg"))), 4)

    def test_result_json_parses_and_describes_the_run(self):
        with open(os.path.join(self.first, "result.json")) as f:
            result = json.load(f)
        self.assertEqual(result["name"], "basic-handover")
        self.assertEqual(result["seed"], 1)
        self.assertEqual(len(result["handovers"]), 3)

    def test_svgs_parse_as_xml(self):
        svgs = glob.glob(os.path.join(self.first, "*.svg"))
        self.assertGreaterEqual(len(svgs), 5)
        for svg in svgs:
            root = ElementTree.parse(svg).getroot()
            self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg", svg)

    def test_every_pcap_decodes_in_tshark_without_malformed_packets_or_expert_warnings(self):
        for link in LINKS:
            problems, count = tshark_problems(os.path.join(self.first, link + ".pcap"))
            self.assertEqual(problems, [])
            self.assertGreater(count, 0, link)

    def test_a_second_run_gives_byte_identical_results(self):
        self.assertEqual(self.run2.returncode, 0, self.run2.stderr)
        for name in ["result.json", "summary.txt"] + [link + ".pcap" for link in LINKS]:
            self.assertEqual(read_bytes(os.path.join(self.first, name)),
                             read_bytes(os.path.join(self.second, name)), name)

    def test_seed_option_changes_the_run(self):
        self.assertEqual(self.run3.returncode, 0, self.run3.stderr)
        with open(os.path.join(self.first, "result.json")) as f:
            one = json.load(f)
        with open(os.path.join(self.seeded, "result.json")) as f:
            two = json.load(f)
        self.assertEqual(two["seed"], 2)
        del one["seed"], two["seed"]
        self.assertNotEqual(one, two)
        self.assertNotEqual(read_bytes(os.path.join(self.first, "a.pcap")),
                            read_bytes(os.path.join(self.seeded, "a.pcap")))


class SignallingOfOtherScenarios(unittest.TestCase):
    """DHAAD, failover, Mobile Prefix Solicitation/Advertisement, Binding Error, rejected
    Binding Acknowledgements: the messages the basic handover does not send, as tshark sees
    them in the captures of the scenarios that do."""

    def test_signalling_decodes_in_tshark_without_malformed_packets_or_expert_warnings(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ["two-home-agents", "renumbering", "failures"]:
                out = os.path.join(tmp, name)
                result = run_sim(os.path.join(SCENARIOS, name + ".toml"), "--out", out, "--quiet")
                self.assertEqual(result.returncode, 0, name + ": " + result.stderr)
                shown = 0
                for link in LINKS:
                    problems, count = tshark_problems(os.path.join(out, link + ".pcap"),
                                                      "mipv6 or icmpv6")
                    self.assertEqual(problems, [], name)
                    shown += count
                self.assertGreater(shown, 0, name)


class BadUsage(unittest.TestCase):
    def test_bad_scenario_file_exits_2_with_file_line_column_key_message(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "typo.toml")
            with open(path, "w") as f:
                f.write('seed = 1\n\n[links.a]\ndealy = "5ms"\n')
            result = run_sim(path, "--out", os.path.join(tmp, "out"))
            self.assertEqual(result.returncode, 2)
            self.assertEqual(result.stderr,
                             path + ':4:1: links.a.dealy: unknown key (did you mean "delay"?)\n')
            self.assertFalse(os.path.exists(os.path.join(tmp, "out")))

    def test_missing_scenario_file_exits_2(self):
        result = run_sim("/nonexistent/x.toml")
        self.assertEqual(result.returncode, 2)
        self.assertIn("/nonexistent/x.toml: cannot read the file", result.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run_sim().returncode, 2)
        self.assertEqual(run_sim(BASIC, "--no-such-option").returncode, 2)
        self.assertEqual(run_sim(BASIC, "--seed", "minus-one").returncode, 2)

    def test_unwritable_output_directory_exits_1(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "a-file")
            with open(blocker, "w") as f:
                f.write("not a directory\n")
            result = run_sim(BASIC, "--out", os.path.join(blocker, "out"), "--quiet")
            self.assertEqual(result.returncode, 1)
            self.assertIn("cannot write the outputs", result.stderr)

    def test_help_exits_0_and_explains_the_outputs(self):
        result = run_sim("--help")
        self.assertEqual(result.returncode, 0)
        for word in ["--seed", "--out", "--quiet", "result.json", "timeline.svg", ".pcap",
                     "Exit codes"]:
            self.assertIn(word, result.stdout)


if __name__ == "__main__":
    unittest.main()
