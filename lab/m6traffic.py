"""Traffic through a mipv6-lab (issue 6): ICMPv6 Echo and a TCP counter stream, run inside the
lab's namespaces with this same Python. Used by `mipv6-lab demo` and by tests/e2e.
"""

import json
import os
import subprocess
import sys
import threading
import time

import m6lab

# ICMPv6 Echo from inside a namespace (there is no ping binary here). Prints one JSON object:
# the sequence numbers answered and the round-trip times.
PING = r"""
import json, select, socket, sys, time
target, count = sys.argv[1], int(sys.argv[2])
interval, wait = float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ident = bytes([0x6d, 0x36])
sent, answered = {}, {}
seq, next_send, deadline = 0, time.monotonic(), None
while deadline is None or (time.monotonic() < deadline and len(answered) < count):
    now = time.monotonic()
    if seq < count and now >= next_send:
        s.sendto(bytes([128, 0, 0, 0]) + ident + seq.to_bytes(2, "big") + b"m6lab", (target, 0))
        sent[seq], seq, next_send = now, seq + 1, now + interval
        if seq == count:
            deadline = now + wait
        continue
    until = next_send if seq < count else deadline
    if select.select([s], [], [], max(0.0, until - now))[0]:
        data, _ = s.recvfrom(2048)
        if data[0] == 129 and data[4:6] == ident:
            n = int.from_bytes(data[6:8], "big")
            if n in sent and n not in answered:
                answered[n] = round((time.monotonic() - sent[n]) * 1000, 3)
print(json.dumps({"sent": count, "answered": answered}))
"""


def ping(lab, node, address, count=5, interval=0.1, wait=1.0):
    """ICMPv6 Echo Requests from `node` to `address`: {sequence: rtt_ms} of the answered."""
    out = lab.exec(node, sys.executable, "-c", PING, address, str(count), str(interval),
                   str(wait), timeout=count * interval + wait + 10)
    return {int(k): v for k, v in json.loads(out)["answered"].items()}


# The TCP counter stream: the client sends consecutive 8-byte big-endian counters as fast as
# a rate limit allows until SIGTERM, then shuts its side down and prints how many it sent; the
# server (bound to the home address) checks every counter, writes its progress to a file and
# prints the verdict when the stream ends.
TCP_SERVER = r"""
import json, os, socket, sys, time
address, port, progress = sys.argv[1], int(sys.argv[2]), sys.argv[3]
listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((address, port))
listener.listen(1)
open(progress + ".listening", "w").close()
connection, peer = listener.accept()
expected, pending, error, last_write = 0, b"", None, 0.0
try:
    while True:
        data = connection.recv(65536)
        if not data:
            break
        pending += data
        whole = len(pending) // 8 * 8
        for i in range(0, whole, 8):
            value = int.from_bytes(pending[i:i + 8], "big")
            if value != expected:
                raise ValueError(f"counter {value} where {expected} was due")
            expected += 1
        pending = pending[whole:]
        now = time.monotonic()
        if now - last_write > 0.05:
            with open(progress + ".tmp", "w") as f:
                f.write(str(expected))
            os.replace(progress + ".tmp", progress)
            last_write = now
except (OSError, ValueError) as e:
    error = repr(e)
print(json.dumps({"received": expected, "trailing_bytes": len(pending), "error": error}))
"""

TCP_CLIENT = r"""
import json, signal, socket, sys, time
address, port, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.create_connection((address, port), timeout=5)
s.settimeout(None)
sent, error, started = 0, None, time.monotonic()
try:
    while not stop:
        due = int((time.monotonic() - started) * rate) - sent
        if due <= 0:
            time.sleep(0.005)
            continue
        due = min(due, 512)
        s.sendall(b"".join((sent + i).to_bytes(8, "big") for i in range(due)))
        sent += due
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    while s.recv(4096):
        pass
except OSError as e:
    error = repr(e)
print(json.dumps({"sent": sent, "error": error}))
"""


class CounterStream:
    """One TCP connection from `client_node` to a server on `address` in `server_node`."""

    def __init__(self, lab, client_node, server_node, address, port=7000, rate=20000):
        self.lab = lab
        self.progress = os.path.join(lab.run_dir, "tcp-progress")
        for leftover in (self.progress, self.progress + ".listening"):
            if os.path.exists(leftover):
                os.remove(leftover)
        self.server = self.popen(server_node, TCP_SERVER, address, port, self.progress)
        m6lab.wait_until(lambda: os.path.exists(self.progress + ".listening"), 5,
                         "the TCP server to listen")
        self.client = self.popen(client_node, TCP_CLIENT, address, port, rate)

    def popen(self, node, script, *args):
        return subprocess.Popen(["ip", "netns", "exec", self.lab.ns(node), sys.executable, "-c",
                                 script, *[str(a) for a in args]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def received(self):
        try:
            with open(self.progress) as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0

    def wait_progress(self, counters=2000, timeout=10.0):
        """Waits until `counters` more counters arrived in order; the time it took."""
        start_count, started = self.received(), time.monotonic()

        def grown():
            if self.server.poll() is not None:
                raise m6lab.LabError(f"the TCP server ended: {self.server.stdout.read()}")
            return self.received() >= start_count + counters
        m6lab.wait_until(grown, timeout, f"{counters} more counters over TCP", interval=0.02)
        return time.monotonic() - started

    def finish(self, timeout=30.0):
        """Stops the client; (client verdict, server verdict)."""
        self.client.terminate()
        client_out, client_err = self.client.communicate(timeout=timeout)
        server_out, server_err = self.server.communicate(timeout=timeout)
        return (json.loads(client_out or "{}") or {"stderr": client_err},
                json.loads(server_out or "{}") or {"stderr": server_err})

    def kill(self):
        for process in (self.client, self.server):
            if process.poll() is None:
                process.kill()
                process.wait()


# Echo Requests every `interval` until SIGTERM; one line per reply, "sequence sent received"
# (CLOCK_MONOTONIC seconds, the same clock in every namespace), and at the end "sent N".
PINGER = r"""
import select, signal, socket, sys, time
target, interval = sys.argv[1], float(sys.argv[2])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ident, seq, sent, next_send = bytes([0x6d, 0x37]), 0, {}, time.monotonic()
while not stop:
    now = time.monotonic()
    if now >= next_send:
        try:
            request = bytes([128, 0, 0, 0]) + ident + (seq & 0xFFFF).to_bytes(2, "big")
            s.sendto(request + b"m6lab", (target, 0))
        except OSError:
            pass
        sent[seq & 0xFFFF] = (seq, now)
        seq += 1
        next_send = now + interval
    try:
        ready = select.select([s], [], [], max(0.0, next_send - time.monotonic()))[0]
    except InterruptedError:
        continue
    if ready:
        data, _ = s.recvfrom(2048)
        if data[0] == 129 and data[4:6] == ident:
            number, at = sent.get(int.from_bytes(data[6:8], "big"), (None, None))
            if number is not None:
                print(number, at, time.monotonic(), flush=True)
print("sent", seq, flush=True)
"""


class Pinger:
    """Continuous ICMPv6 Echo from `node` to `address`; replies() are (sequence, sent, received)
    in CLOCK_MONOTONIC seconds."""

    def __init__(self, lab, node, address, interval=0.02):
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns(node), sys.executable, "-c", PINGER, address,
             str(interval)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = []
        self.sent = None
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            fields = line.split()
            with self.lock:
                if fields[0] == "sent":
                    self.sent = int(fields[1])
                else:
                    self.lines.append((int(fields[0]), float(fields[1]), float(fields[2])))

    def replies(self):
        with self.lock:
            return list(self.lines)

    def first_reply_after(self, moment):
        """The first reply to a request sent after `moment`, or None."""
        return next((r for r in self.replies() if r[1] >= moment), None)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        return self.sent, self.replies()
