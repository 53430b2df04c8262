"""mipv6-lab itself (issue 6): `up`, `status`, `move`, `exec` and `down` through its command
line, and `down` after an `up` that was killed half-way leaves nothing behind."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import e2e_util
from e2e_util import m6lab


class LabCommandLineTest(unittest.TestCase):
    def setUp(self):
        e2e_util.skip_unless_ready()
        self.tmp = tempfile.mkdtemp(prefix="m6l-test-")
        self.prefix = f"m6l-c{os.getpid()}"
        self.run_dir = os.path.join(self.tmp, "run")
        with open(m6lab.DEFAULT_TOPOLOGY) as f:
            text = f.read()
        self.topology = os.path.join(self.tmp, "topology.toml")
        with open(self.topology, "w") as f:
            f.write(re.sub(r'(?m)^prefix = "m6l"', f'prefix = "{self.prefix}"', text))
        self.bin_dir = os.path.dirname(os.path.dirname(os.path.abspath(e2e_util.MIPV6D)))

    def tearDown(self):
        self.lab("down", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def lab(self, *args, check=True, timeout=60):
        done = subprocess.run([e2e_util.MIPV6_LAB, "--run-dir", self.run_dir, *args],
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            self.fail(f"mipv6-lab {' '.join(args)}: exit {done.returncode}: {done.stderr}")
        return done.stdout

    def namespaces(self):
        return [n for n in m6lab.list_namespaces() if n.startswith(self.prefix + "-")]

    def test_up_status_move_exec_down_leave_nothing_behind(self):
        self.lab("up", "--topology", self.topology, "--bin-dir", self.bin_dir)
        pids = [p["pid"] for p in m6lab.Lab(self.run_dir).state["processes"]]
        self.assertEqual(len(pids), 6, "three radvd and three mipv6d")
        self.assertEqual(len(self.namespaces()), 7)
        self.assertIn("mobile node mn attached to link home", self.lab("status"))
        # A second `up` refuses and leaves the lab that is up alone.
        self.assertIn("already up", self.lab_error("up", "--topology", self.topology))
        self.assertEqual(len(self.namespaces()), 7)
        self.assertTrue(all(m6lab.pid_alive(p) for p in pids))
        self.lab("move", "mn", "a", "--gap", "0.05")
        m6lab.wait_until(lambda: "2001:db8:a:" in self.lab("exec", "mn", "ip", "-6", "addr"),
                         10, "a care-of address from link a")
        status = self.lab("status")
        self.assertIn("mobile node mn attached to link a", status)
        self.assertIn("mipv6ctl show bul (mn):", status)
        self.lab("down")
        self.assertEqual(self.namespaces(), [])
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "state.json")))
        self.assertEqual([p for p in pids if m6lab.pid_alive(p)], [])

    def test_down_after_a_killed_up_removes_everything(self):
        up = subprocess.Popen([e2e_util.MIPV6_LAB, "--run-dir", self.run_dir, "up",
                               "--topology", self.topology, "--bin-dir", self.bin_dir],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed once it started daemons: namespaces, bridges and processes exist.
        m6lab.wait_until(lambda: m6lab.Lab(self.run_dir).state.get("processes"), 30,
                         "the first process of the lab")
        up.send_signal(signal.SIGKILL)
        up.wait()
        pids = [p["pid"] for p in m6lab.Lab(self.run_dir).state["processes"]]
        self.assertNotEqual(self.namespaces(), [])
        self.lab("down")
        self.assertEqual(self.namespaces(), [])
        self.assertEqual([p for p in pids if m6lab.pid_alive(p)], [])
        self.assertIn("no lab is up", self.lab_error("status"))

    def lab_error(self, *args):
        done = subprocess.run([e2e_util.MIPV6_LAB, "--run-dir", self.run_dir, *args],
                              capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        return done.stderr


if __name__ == "__main__":
    unittest.main()
