#!/usr/bin/python3
"""mipv6d's command line and life cycle (issue 8): --check and --help, one daemon per control
socket, SIGHUP / mipv6ctl reload, and recovery after a crash (kill -9)."""

import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mipv6d_testlib import (  # noqa: E402
    MIPV6CTL, MIPV6D, NamespaceTestCase, main, snapshot, traces, wait_until)
import test_home_agent as home_agent  # noqa: E402

VALID = """# a comment
[node]
roles = ["correspondent"]
control_socket = "@SOCKET@"
state_file = "@STATE@"
log_level = "info"

[correspondent]
max_bindings = 64
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class CommandLineTest(NamespaceTestCase):
    def mipv6d(self, *args):
        return subprocess.run([MIPV6D] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=10)

    def config_file(self, name, text):
        text = text.replace("@SOCKET@", os.path.join(self.workdir, name + ".sock"))
        text = text.replace("@STATE@", os.path.join(self.workdir, name + ".state"))
        return write(os.path.join(self.workdir, name + ".toml"), text)

    def assert_rejected(self, path, line, *words):
        done = self.mipv6d("--check", "--config", path)
        self.assertEqual(done.returncode, 2, "exit status of --check on an invalid file: %r" %
                         (done,))
        self.assertIn("%s:%d:" % (path, line), done.stderr, "FILE:LINE in %r" % done.stderr)
        for word in words:
            self.assertIn(word, done.stderr)

    def test_check_accepts_a_valid_file(self):
        path = self.config_file("valid", VALID)
        done = self.mipv6d("--check", "--config", path)
        self.assertEqual(done.returncode, 0, done)
        self.assertIn("valid", done.stdout)
        self.assertIn(path, done.stdout)

    def test_check_accepts_the_shipped_example(self):
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc",
                               "mipv6d.toml")
        if not os.path.exists(example):
            self.skipTest("no etc/mipv6d.toml")
        done = self.mipv6d("--check", "--config", example)
        self.assertEqual(done.returncode, 0, done)

    def test_check_names_file_line_and_key_of_an_out_of_range_value(self):
        text = VALID.replace("max_bindings = 64", "max_bindings = 64\n") + \
            '[home_agent]\ninterface = "eth0"\nmax_lifetime = 2\n'
        path = self.config_file("range", text.replace('roles = ["correspondent"]',
                                                      'roles = ["correspondent", "home_agent"]'))
        line = text.splitlines().index("max_lifetime = 2") + 1
        self.assert_rejected(path, line, "home_agent.max_lifetime")

    def test_check_names_file_and_line_of_a_syntax_error(self):
        path = self.config_file("syntax", VALID.replace('log_level = "info"', "log_level = info"))
        self.assert_rejected(path, 6)

    def test_check_names_an_unknown_key(self):
        path = self.config_file("unknown", VALID.replace("max_bindings", "max_bindigns"))
        self.assert_rejected(path, 9, "max_bindigns")

    def test_check_rejects_a_wrong_role(self):
        path = self.config_file("role", VALID.replace('"correspondent"]', '"corespondent"]'))
        self.assert_rejected(path, 3, "corespondent")

    def test_missing_file_exits_2_naming_it(self):
        path = os.path.join(self.workdir, "absent.toml")
        done = self.mipv6d("--check", "--config", path)
        self.assertEqual(done.returncode, 2, done)
        self.assertIn(path, done.stderr)

    def test_help_exits_0_and_lists_the_options(self):
        done = self.mipv6d("--help")
        self.assertEqual(done.returncode, 0, done)
        for word in ("--config", "--check", "mipv6d"):
            self.assertIn(word, done.stdout)

    def test_unknown_option_exits_2(self):
        done = self.mipv6d("--no-such-option")
        self.assertEqual(done.returncode, 2, done)


class ControlSocketTest(NamespaceTestCase):
    def test_second_daemon_on_the_same_control_socket_is_refused_and_cleans_up(self):
        first_ns = self.namespace("one")
        second_ns = self.namespace("two")
        first = self.new_daemon(first_ns, "one", VALID).start()
        before = snapshot(second_ns)
        second = self.new_daemon(second_ns, "two", VALID)
        second.socket = first.socket
        second.write_config(VALID.replace("@SOCKET@", first.socket))
        second.start(wait=False)
        try:
            status = second.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("the second mipv6d kept running on a socket in use:\n" + second.log())
        self.assertEqual(status, 1, second.log())
        self.assertIn(first.socket, second.log())
        self.assertTrue(first.running())
        self.assertIn("daemon", first.ctl("show", "stats"))
        self.assertEqual(traces(second_ns), [], second.log())
        self.assertSnapshotEqual(before, snapshot(second_ns), daemon=second)
        self.assertEqual(first.stop(), 0, first.log())

    def test_sighup_with_a_broken_file_keeps_the_running_configuration(self):
        ns = self.namespace("hup")
        daemon = self.new_daemon(ns, "hup", VALID).start()
        write(daemon.config, "[node]\nroles = [\n")
        daemon.signal(signal.SIGHUP)
        stats = wait_until(lambda: (lambda s: s if s["reloads"] >= 1 else None)(
            daemon.stats("daemon")), timeout=3, what="the reload to be counted")
        self.assertEqual(stats["reload_failures"], 1, stats)
        self.assertTrue(daemon.running(), daemon.log())
        self.assertTrue(re.search(re.escape(daemon.config) + r":\d+", daemon.log()),
                        "the log names FILE:LINE:\n" + daemon.log())
        config = daemon.ctl("show", "config")
        self.assertEqual(config["correspondent"]["max_bindings"], 64, config)

        # A valid file again: mipv6ctl reload applies it.
        daemon.write_config(VALID.replace('log_level = "info"', 'log_level = "debug"'))
        result = daemon.ctl("reload")
        self.assertIsInstance(result, dict, result)
        stats = daemon.stats("daemon")
        self.assertEqual((stats["reloads"], stats["reload_failures"]), (2, 1), stats)
        config = daemon.ctl("show", "config")
        self.assertEqual(config["node"]["log_level"], "debug", config)
        self.assertEqual(daemon.stop(), 0, daemon.log())

    def test_reload_names_the_settings_that_need_a_restart(self):
        ns = self.namespace("reload")
        daemon = self.new_daemon(ns, "reload", VALID).start()
        daemon.write_config(VALID.replace("max_bindings = 64", "max_bindings = 65"))
        result = daemon.ctl("reload")
        self.assertIn("correspondent.max_bindings", result["restart_needed"], result)
        self.assertIn("correspondent.max_bindings", daemon.log())
        # show config is what runs: the old value until the next start.
        config = daemon.ctl("show", "config")
        self.assertEqual(config["correspondent"]["max_bindings"], 64, config)
        self.assertEqual(daemon.stop(), 0, daemon.log())


class StartFailureTest(NamespaceTestCase):
    def test_missing_home_interface_exits_1_and_leaves_nothing(self):
        ns = self.namespace("nohome")
        before = snapshot(ns)
        config = VALID.replace('roles = ["correspondent"]', 'roles = ["home_agent"]').replace(
            "[correspondent]\nmax_bindings = 64", '[home_agent]\ninterface = "nosuch0"')
        daemon = self.new_daemon(ns, "nohome", config)
        daemon.start(wait=False)
        try:
            status = daemon.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("mipv6d kept running without its home interface:\n" + daemon.log())
        self.assertEqual(status, 1, daemon.log())
        self.assertIn("nosuch0", daemon.log())
        self.assertEqual(traces(ns), [], daemon.log())
        self.assertSnapshotEqual(before, snapshot(ns), daemon=daemon)
        self.assertFalse(os.path.exists(daemon.socket))
        self.assertFalse(os.path.exists(daemon.state_file))


class ControlClientTest(NamespaceTestCase):
    def mipv6ctl(self, *args):
        return subprocess.run([MIPV6CTL] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=10)

    def test_mipv6ctl_without_a_daemon_says_so_and_exits_3(self):
        path = os.path.join(self.workdir, "nobody.sock")
        done = self.mipv6ctl("--socket", path, "show", "stats")
        self.assertEqual(done.returncode, 3, done)
        self.assertIn(path, done.stderr)

    def test_a_table_of_a_role_not_running_is_an_error(self):
        ns = self.namespace("tables")
        daemon = self.new_daemon(ns, "tables", VALID).start()
        for table in ("bul", "hal"):
            done = self.mipv6ctl("--socket", daemon.socket, "show", table)
            self.assertEqual(done.returncode, 1, done)
            self.assertIn("role", done.stdout + done.stderr)
        done = self.mipv6ctl("--socket", daemon.socket, "--json", "show", "stats")
        self.assertEqual(done.returncode, 0, done)
        self.assertEqual(sorted(json.loads(done.stdout).get("result", json.loads(done.stdout))),
                         ["correspondent", "daemon", "security"],
                         "stats of the roles that run only, the intake's and the signalling "
                         "protection's")
        self.assertEqual(daemon.stop(), 0, daemon.log())

    def test_unknown_table_is_a_usage_error(self):
        done = self.mipv6ctl("--socket", os.path.join(self.workdir, "x.sock"), "show", "nope")
        self.assertEqual(done.returncode, 2, done)


class CrashRecoveryTest(NamespaceTestCase):
    def test_restart_after_kill_9_removes_the_leftovers_and_then_leaves_no_trace(self):
        ha, peer = home_agent.build_topology(self)
        before = snapshot(ha)
        first = self.new_daemon(ha, "crashed", home_agent.CONFIG).start()
        _parsed, ba = home_agent.register(self.open_port(peer, "coa0"))
        self.assertEqual(ba.status, 0, first.log())
        wait_until(lambda: any(line.startswith("proxy") for line in traces(ha)), timeout=3,
                   what="the proxy entry")
        first.kill9()
        left = traces(ha)
        for kind in ("proxy", "rule", "ip6tables"):
            self.assertTrue(any(line.startswith(kind) for line in left),
                            "a crash leaves %s entries: %s" % (kind, left))
        self.assertTrue(os.path.exists(first.state_file), "the state file survives a crash")

        second = self.new_daemon(ha, "crashed", home_agent.CONFIG)
        second.log_path = os.path.join(self.workdir, "restarted.log")
        second.start()
        self.assertIn("previous mipv6d", second.log())
        self.assertTrue(re.search(r"removed \d+ kernel objects", second.log()), second.log())
        now = traces(ha)
        self.assertFalse([line for line in now if home_agent.HOME in line],
                         "leftovers of the crashed daemon's binding: %s" % now)
        self.assertEqual(second.bindings(), [])
        self.assertEqual(second.stop(), 0, second.log())
        self.assertNoTraces(ha, second)
        self.assertSnapshotEqual(before, snapshot(ha), daemon=second)
        self.assertFalse(os.path.exists(second.state_file))


if __name__ == "__main__":
    main()
