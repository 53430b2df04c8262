#!/usr/bin/python3
"""The SVG pictures of mipv6-sim against its own result.json (docs/simulator-output.md).

Runs scenarios/returning-home.toml and checks, with Python's XML parser rather than ours, that
every picture is one well-formed <svg> with its size and viewBox, that each message sequence
chart draws exactly the signalling records of result.json in its window (one arrow each, the
lost ones crossed, capped at 60 with a note), with one lifeline per node in the documented
order, and that the timeline draws one bar per phase that happened with the JSON's duration.

Environment: MIPV6_SIM (the mipv6-sim binary), MIPV6_SCENARIOS (the scenarios/ directory).
"""
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

SIM = os.environ.get("MIPV6_SIM", "mipv6-sim")
SCENARIOS = os.environ.get(
    "MIPV6_SCENARIOS", os.path.join(os.path.dirname(__file__), "..", "..", "scenarios"))
SVG = "{http://www.w3.org/2000/svg}"
MAX_MESSAGES = 60


def lifeline_rank(name):
    """Lifeline order: mn, other mobile nodes, access routers, ha, ha2..., cn, the rest."""
    if name == "mn":
        return (0, name)
    for rank, prefix in ((1, "mn"), (2, "ar"), (3, "ha"), (5, "cn")):
        if name.startswith(prefix):
            return (rank + (1 if prefix == "ha" and name != "ha" else 0), name)
    return (6, name)


def text_of(element):
    return "".join(element.itertext())


def ms_to_us(text):
    whole, fraction = text.split(".")
    return int(whole) * 1000 + int(fraction)


class SimSvgTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mipv6-sim-svg-")
        cls.out = os.path.join(cls.tmp.name, "out")
        scenario = os.path.join(SCENARIOS, "returning-home.toml")
        result = subprocess.run([SIM, scenario, "--out", cls.out, "--quiet"],
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"mipv6-sim failed: {result.stderr}")
        with open(os.path.join(cls.out, "result.json"), encoding="utf-8") as f:
            cls.result = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def parse(self, name):
        return ElementTree.parse(os.path.join(self.out, name)).getroot()

    def sequence_files(self):
        paths = glob.glob(os.path.join(self.out, "sequence-*.svg"))
        return sorted(os.path.basename(p) for p in paths)

    def test_one_sequence_chart_per_handover_and_one_for_the_start(self):
        expected = ["sequence-start.svg"] + [
            f"sequence-{k}.svg" for k in range(1, len(self.result["handovers"]) + 1)]
        # sequence-<k>-end.svg only for a handover with more messages than a chart shows.
        charts = [f for f in self.sequence_files() if not f.endswith("-end.svg")]
        self.assertEqual(charts, sorted(expected))
        self.assertEqual(len(self.result["handovers"]), 2)

    def test_every_picture_is_one_svg_root_with_size_and_viewbox(self):
        for name in ["timeline.svg"] + self.sequence_files():
            root = self.parse(name)
            self.assertEqual(root.tag, SVG + "svg", name)
            width, height = root.get("width"), root.get("height")
            self.assertGreater(float(width), 0, name)
            self.assertGreater(float(height), 0, name)
            self.assertEqual(root.get("viewBox"), f"0 0 {width} {height}", name)

    def window_of(self, root):
        title = next(text_of(t) for t in root.iter(SVG + "text")
                     if text_of(t).startswith("Signalling from"))
        match = re.match(r"Signalling from ([0-9.]+) ms to ([0-9.]+) ms", title)
        self.assertIsNotNone(match, title)
        return ms_to_us(match.group(1)), ms_to_us(match.group(2))

    def records_in(self, begin_us, end_us):
        records = [s for s in self.result["signalling"] if begin_us <= s["at_us"] < end_us]
        return sorted(records, key=lambda s: s["at_us"])  # stable, as the chart sorts

    def test_each_chart_draws_the_json_signalling_of_its_window(self):
        for name in self.sequence_files():
            root = self.parse(name)
            records = self.records_in(*self.window_of(root))
            shown = records[:MAX_MESSAGES]
            groups = [g for g in root.iter(SVG + "g") if g.get("class", "").startswith("message")]
            self.assertEqual(len(groups), len(shown), name)
            lost = [g for g in groups if g.get("class") == "message lost"]
            self.assertEqual(len(lost), sum(1 for s in shown if s["arrived_us"] is None), name)
            for group, record in zip(groups, shown):
                texts = [text_of(t) for t in group.iter(SVG + "text")]
                self.assertIn(record["label"], texts, name)
                self.assertIn(f"{record['at_us'] // 1000}.{record['at_us'] % 1000:03d} ms", texts)
            if len(records) > MAX_MESSAGES:
                self.assertIn(f"{len(records) - MAX_MESSAGES} more in this window not shown",
                              ElementTree.tostring(root, encoding="unicode"))

    def test_each_chart_has_one_lifeline_per_node_in_the_documented_order(self):
        for name in self.sequence_files():
            root = self.parse(name)
            shown = self.records_in(*self.window_of(root))[:MAX_MESSAGES]
            nodes = sorted({s["from"] for s in shown} | {s["to"] for s in shown},
                           key=lifeline_rank)
            lifelines = [line for line in root.iter(SVG + "line")
                         if line.get("class") == "lifeline"]
            self.assertEqual(len(lifelines), len(nodes), name)
            headers = [text_of(t) for t in root.iter(SVG + "text")
                       if t.get("y") == "53" and t.get("font-weight") == "bold"]
            self.assertEqual(headers, nodes, name)

    def test_returning_home_chart_shows_the_deregistration_and_its_acknowledgement(self):
        # RFC 6275 §11.5.5: back home the node de-registers with its home agent.
        root = self.parse("sequence-2.svg")
        labels = [text_of(t) for g in root.iter(SVG + "g") for t in g.iter(SVG + "text")]
        self.assertTrue(any(label.startswith("BU(H,dereg)") for label in labels), labels)
        self.assertTrue(any(label.startswith("BA 0") for label in labels), labels)

    def test_timeline_has_one_bar_per_phase_with_the_json_duration(self):
        root = self.parse("timeline.svg")
        bars = [text_of(r) for r in root.iter(SVG + "rect") if r.get("class") == "phase"]
        expected = []
        for h in self.result["handovers"]:
            rd, ac = h["router_discovery_us"], h["address_configuration_us"]
            md, hr = h["movement_detection_us"], h["home_registration_us"]
            # Address configuration is drawn from the RA, home registration from the BU (the
            # end of movement detection): without those starts there is no bar.
            phases = [("router discovery", rd),
                      ("address configuration", ac if rd is not None else None),
                      ("movement detection", md),
                      ("home registration", hr if md is not None else None),
                      ("return routability", h["return_routability_us"]),
                      ("first packet", h["total_us"])]
            expected += [f"{name} {us // 1000}.{us % 1000:03d} ms"
                         for name, us in phases if us is not None]
        self.assertEqual(bars, expected)

    def test_timeline_marks_every_scripted_event_and_labels_its_axes(self):
        root = self.parse("timeline.svg")
        texts = [text_of(t) for t in root.iter(SVG + "text")]
        for event in self.result["timeline"]:
            self.assertIn(event["what"], texts)
        self.assertIn("time since the start of the run (s)", texts)
        self.assertIn("time since the move (s)", texts)
        markers = [line for line in root.iter(SVG + "line")
                   if line.get("class", "").startswith("marker")]
        self.assertGreaterEqual(len(markers), len(self.result["timeline"]))


if __name__ == "__main__":
    unittest.main()
