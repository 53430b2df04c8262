#!/usr/bin/python3
"""mipv6ctl end to end against a stand-in daemon (docs/mipv6ctl.md).

A Python UNIX-socket server in a temporary directory plays mipv6d: it records each request line
and answers with a canned response. Checked: the request mipv6ctl sends for each command; `show
bc` and `show stats` in text (aligned table, sections) and with --json (the "result" exactly);
an {"ok":false} answer exits 1 with the daemon's error on stderr; no daemon exits 3 with "cannot
reach mipv6d at PATH"; bad usage exits 2; --help exits 0.

Environment: MIPV6CTL (the mipv6ctl binary). Without it every test is skipped, loudly.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

CTL = os.environ.get("MIPV6CTL")
if not CTL:
    print("test_mipv6ctl: MIPV6CTL is not set -- SKIPPING every mipv6ctl test", file=sys.stderr)

BINDINGS = {"bindings": [{
    "home_address": "2001:db8:1::100", "care_of_address": "2001:db8:2::100", "lifetime_s": 412,
    "sequence": 7, "flags": "HAL", "home_registration": True, "role": "home_agent"}]}
STATS = {"daemon": {"control_requests": 3, "uptime_s": 12},
         "home_agent": {"bu_accepted": 2, "drop_bad_checksum": 0}}


class FakeDaemon:
    """Answers each request line with responses[command or table]; records the requests."""

    def __init__(self, path, responses):
        self.requests = []
        self.responses = responses
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.server.settimeout(10)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            while True:
                connection, _ = self.server.accept()
                with connection:
                    self.answer(connection)
        except OSError:
            return  # closed by stop(), or nobody came within the timeout

    def answer(self, connection):
        for line in connection.makefile("r", encoding="utf-8"):
            request = json.loads(line)
            self.requests.append(request)
            key = request.get("table", request.get("command"))
            connection.sendall((json.dumps(self.responses[key]) + "\n").encode())

    def stop(self):
        # shutdown() wakes the blocked accept() at once; close() alone would not.
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=5)


@unittest.skipUnless(CTL, "MIPV6CTL is not set: the mipv6ctl binary was not given")
class Mipv6ctlTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mipv6t-%d-ctl-" % os.getpid())
        self.path = os.path.join(self.tmp.name, "mipv6d.sock")
        self.daemon = FakeDaemon(self.path, {
            "bc": {"ok": True, "result": BINDINGS},
            "stats": {"ok": True, "result": STATS},
            "hal": {"ok": False, "error": "this node runs no home agent"},
            "flush": {"ok": True, "result": "home_agent: 1 binding removed"},
        })

    def tearDown(self):
        self.daemon.stop()
        self.tmp.cleanup()

    def ctl(self, *args):
        return subprocess.run([CTL, "--socket", self.path, *args], capture_output=True,
                              text=True, timeout=30)

    def test_show_bc_text_is_aligned_table_with_header(self):
        result = self.ctl("show", "bc")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(), [
            "home_address     care_of_address  lifetime_s  sequence  flags  home_registration"
            "  role",
            "2001:db8:1::100  2001:db8:2::100  412         7         HAL    yes"
            "                home_agent"])
        self.assertEqual(self.daemon.requests, [{"command": "show", "table": "bc"}])

    def test_show_bc_json_prints_the_result(self):
        result = self.ctl("--json", "show", "bc")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), BINDINGS)

    def test_json_flag_after_the_subcommand_works_too(self):
        result = self.ctl("show", "stats", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), STATS)

    def test_show_stats_text_has_a_section_per_role(self):
        result = self.ctl("show", "stats")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "daemon:\n  control_requests  3\n  uptime_s          12\n"
                         "home_agent:\n  bu_accepted        2\n  drop_bad_checksum  0\n")

    def test_flush_sends_flush_and_prints_what_was_done(self):
        result = self.ctl("flush")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "home_agent: 1 binding removed\n")
        self.assertEqual(self.daemon.requests, [{"command": "flush"}])

    def test_daemon_error_exits_1_with_its_message(self):
        result = self.ctl("show", "hal")
        self.assertEqual(result.returncode, 1)
        self.assertIn("this node runs no home agent", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_no_daemon_exits_3(self):
        absent = os.path.join(self.tmp.name, "absent.sock")
        result = subprocess.run([CTL, "--socket", absent, "show", "bc"], capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 3)
        self.assertIn("cannot reach mipv6d at " + absent, result.stderr)
        self.assertIn("is it running?", result.stderr)

    def test_bad_usage_exits_2(self):
        for args in (["show", "routes"], ["show"], [], ["restart"], ["--bogus", "flush"]):
            with self.subTest(args=args):
                result = self.ctl(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(self.daemon.requests, [])

    def test_help_exits_0_and_lists_tables_and_exit_codes(self):
        result = subprocess.run([CTL, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0)
        for word in ("show", "reload", "flush", "--socket", "--json", "stats", "Exit status"):
            self.assertIn(word, result.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
