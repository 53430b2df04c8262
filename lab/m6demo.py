"""`mipv6-lab demo`: the mobile node's tour home -> A -> B -> home in the default lab, with a
readable timeline, the binding tables at each step, pcaps of every link and an SVG timeline.

A TCP counter stream and a 20 ms ping run from the correspondent to the home address the whole
time; for every move the demo measures the link change (carrier up on the new link) to the
first echo reply whose request was sent after it, and counts the requests lost.
"""

import html
import os
import sys
import threading
import time

import m6lab
import m6traffic

HOME_ADDRESS = "2001:db8:1::100"
# Log lines that are about the daemon's own start and stop, not about the protocol.
QUIET = ("starting with", "started", "listening on", "security.signalling", "stopping",
         "stopped", "removed ")


class LogWatcher:
    """Follows the daemons' logs, stamping every new line with CLOCK_MONOTONIC."""

    def __init__(self, lab, t0, echo=True):
        self.paths = {name: lab.path(f"mipv6d-{name}.log") for name in lab.daemon_nodes()}
        self.offsets = {name: 0 for name in self.paths}
        self.t0, self.echo = t0, echo
        self.events = []  # (t, node, text)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopping.wait(0.01):
            self.poll()
        self.poll()

    def poll(self):
        for name, path in self.paths.items():
            try:
                with open(path, errors="replace") as f:
                    f.seek(self.offsets[name])
                    text = f.read()
            except OSError:
                continue
            complete = text[:text.rfind("\n") + 1]
            self.offsets[name] += len(complete.encode(errors="replace"))
            now = time.monotonic()
            for line in complete.splitlines():
                self.add(now, name, line)

    def add(self, now, node, line):
        level, _, text = line.partition(" ")
        if level not in ("info", "warn", "error") or any(q in text for q in QUIET[:4]):
            return
        self.events.append((now, node, text))
        if self.echo:
            print(f"  {now - self.t0:8.3f} s  {node:4} {text}", flush=True)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)


def say(t0, text):
    print(f"  {time.monotonic() - t0:8.3f} s  lab  {text}", flush=True)


def heading(text):
    print(f"\n== {text} " + "=" * max(0, 92 - len(text)), flush=True)


def home_entry(lab):
    try:
        for home in lab.ctl("mn", "show", "bul").get("home_addresses", []):
            if home.get("home_address") == HOME_ADDRESS:
                return home
    except (m6lab.LabError, ValueError):
        pass
    return None


def cn_binding(lab, care_of):
    try:
        bindings = lab.ctl("cn", "show", "bc").get("bindings", [])
    except (m6lab.LabError, ValueError):
        return None
    return next((b for b in bindings if b.get("home_address") == HOME_ADDRESS and
                 b.get("care_of_address") == care_of), None)


def wait_arrived(lab, link, timeout=15.0):
    """The home entry once registered from `link` (or at home); its care-of address."""
    prefix = lab.topology["links"][link]["prefix"]

    def arrived():
        home = home_entry(lab)
        if not home:
            return None
        if link == "home":
            return "home" if home.get("state") == "at-home" else None
        care_of = home.get("care_of_address")
        if home.get("state") == "registered" and care_of and m6lab.same_prefix(prefix, care_of):
            return care_of
        return None
    return m6lab.wait_until(arrived, timeout, f"the mobile node to register from link {link}")


def print_tables(lab):
    for node, table in (("ha", "bc"), ("cn", "bc"), ("mn", "bul")):
        print(f"  mipv6ctl show {table} ({node}):")
        for line in lab.ctl_text(node, "show", table).splitlines():
            print(f"    {line}")


def visit(lab, link, pinger, t0, marks):
    """One move: returns its measurements."""
    heading(f"move to link {link}")
    before = pinger.replies()
    last_before = before[-1][0] if before else -1
    attached = lab.move("mn", link)
    marks.append((attached, f"carrier up on {link}"))
    say(t0, f"mn's cable moved to link {link} (carrier down, re-attached, carrier up)")
    care_of = wait_arrived(lab, link)
    registered = time.monotonic()
    marks.append((registered, "at home" if link == "home" else "registered"))
    say(t0, "back home, binding removed (RFC 6275 §11.5.5)" if link == "home" else
        f"registered with the home agent, care-of address {care_of}")
    first = m6lab.wait_until(lambda: pinger.first_reply_after(attached), 10,
                             "the first echo reply on the new path")
    marks.append((first[2], "first echo reply"))
    lost = first[0] - last_before - 1
    say(t0, f"first echo reply on the new path: request {first[0]}, "
        f"{(first[2] - attached) * 1000:.0f} ms after the link change; {lost} requests lost "
        f"(the cable was out {m6lab.DEFAULT_CARRIER_GAP} s)")
    ro_ms = None
    if link != "home" and lab.nodes()["mn"]["mipv6d"]["mobile_node"].get(
            "route_optimization", "always") != "never":
        try:
            m6lab.wait_until(lambda: cn_binding(lab, care_of), 5, "return routability")
            ro_ms = (time.monotonic() - attached) * 1000
            marks.append((time.monotonic(), "route optimised"))
            say(t0, f"return routability done: the correspondent holds a binding for "
                f"{care_of} ({ro_ms:.0f} ms after the link change)")
        except m6lab.LabError:
            say(t0, "no correspondent binding within 5 s (route optimisation did not happen)")
    time.sleep(0.3)  # let the log lines of the step arrive before the tables
    print_tables(lab)
    return {"link": link, "care_of": care_of, "registered_ms": (registered - attached) * 1000,
            "first_reply_ms": (first[2] - attached) * 1000, "lost": lost, "ro_ms": ro_ms}


def tour(lab, out_dir):
    t0 = time.monotonic()
    marks = []
    captures = {link: m6lab.start_capture(lab.switch, lab.bridge(link),
                                          os.path.join(out_dir, f"{link}.pcapng"))
                for link in ("home", "a", "b", "cn")}
    watcher = LogWatcher(lab, t0)
    pinger = stream = None
    steps = []
    try:
        heading("the mobile node starts at home")
        wait_arrived(lab, "home")
        m6lab.wait_until(lambda: f"{HOME_ADDRESS}/64@eth0" in lab.addresses("mn"), 10,
                         "the home address on the mobile node")
        say(t0, f"mn is at home with its home address {HOME_ADDRESS}")
        stream = m6traffic.CounterStream(lab, "cn", "mn", HOME_ADDRESS, rate=20000)
        pinger = m6traffic.Pinger(lab, "cn", HOME_ADDRESS)
        stream.wait_progress()
        say(t0, "TCP counter stream (160 kB/s) and ping every 20 ms from cn to the home "
            "address are running")
        print_tables(lab)
        for link in ("a", "b", "home"):
            steps.append(visit(lab, link, pinger, t0, marks))
            stream.wait_progress(timeout=15)
        client, server = stream.finish()
        sent, replies = pinger.stop()
    finally:
        if stream:
            stream.kill()
        if pinger:
            pinger.stop()
        watcher.stop()
        for capture in captures.values():
            m6lab.stop_capture(capture, settle=0.3)
    summary(steps, client, server, sent, replies, out_dir)
    write_svg(os.path.join(out_dir, "timeline.svg"), t0, marks, watcher.events)
    ok = client.get("error") is None and server.get("error") is None and \
        server.get("received") == client.get("sent")
    return 0 if ok else 1


def summary(steps, client, server, sent, replies, out_dir):
    heading("summary")
    for step in steps:
        ro = f", route optimised after {step['ro_ms']:.0f} ms" if step["ro_ms"] else ""
        print(f"  {step['link']:5} registered after {step['registered_ms']:6.0f} ms, first echo "
              f"reply after {step['first_reply_ms']:6.0f} ms, {step['lost']:3} echo requests "
              f"lost{ro}")
    gap = m6lab.DEFAULT_CARRIER_GAP
    print(f"  (times from the carrier coming up on the new link; the losses include the "
          f"{gap} s the cable was out, ~{gap / 0.02:.0f} requests at 20 ms)")
    print("  (the first registration waits for the home agent's DAD of the home address, ~1 s, "
          "RFC 6275 §10.3.1)")
    print(f"  ping: {len(replies)} of {sent} echo requests answered")
    verdict = ("every counter arrived in order, no reset"
               if server.get("received") == client.get("sent") and not server.get("error")
               and not client.get("error") else f"BROKEN: client {client}, server {server}")
    print(f"  TCP: {client.get('sent')} counters sent, {server.get('received')} received: "
          f"{verdict}")
    pcaps = [os.path.join(out_dir, f"{link}.pcapng") for link in ("home", "a", "b", "cn")]
    print(f"  pcaps: {', '.join(pcaps)}")
    print(f"  timeline: {os.path.join(out_dir, 'timeline.svg')}")


def write_svg(path, t0, marks, events):
    """Time runs down the page; the lab's marks on the left, each daemon's log in its lane."""
    lanes = {"lab": 60, "mn": 260, "ha": 700, "cn": 1140}
    rows = sorted([(t, "lab", text) for t, text in marks] + list(events))
    height = 60 + 16 * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="{height}" '
           'font-family="monospace" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>']
    for lane, x in lanes.items():
        out.append(f'<text x="{x}" y="20" font-weight="bold">{lane}</text>')
    for i, (t, lane, text) in enumerate(rows):
        y = 44 + 16 * i
        colour = "#c00" if lane == "lab" else "#036"
        out.append(f'<text x="0" y="{y}" fill="#666">{t - t0:7.3f}</text>')
        out.append(f'<text x="{lanes.get(lane, 60)}" y="{y}" fill="{colour}">'
                   f'{html.escape(text.split(": ", 1)[-1][:64])}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(args):
    if os.geteuid() != 0:
        simulator = os.path.join(m6lab.LAB_DIR, "..", "scripts", "demo.sh")
        print("mipv6-lab demo: the lab needs root (network namespaces, raw sockets, NFQUEUE); "
              "running the simulator's equivalent scenario instead", file=sys.stderr)
        os.execv(simulator, [simulator])
    out_dir = os.path.abspath(args.out_dir or os.path.join(m6lab.LAB_DIR, "..", "build",
                                                           "lab-demo"))
    os.makedirs(out_dir, exist_ok=True)
    lab = m6lab.Lab(args.run_dir, m6lab.DEFAULT_TOPOLOGY, args.bin_dir)
    if lab.state.get("namespaces"):
        print("mipv6-lab demo: a lab is up; run `mipv6-lab down` first", file=sys.stderr)
        return 1
    heading("mipv6-lab demo: home agent, two foreign links, a correspondent, one mobile node")
    print("  real mipv6d daemons in network namespaces; radvd with 50-150 ms Router "
          "Advertisements;\n  route optimisation on; times are seconds since the lab was up")
    try:
        lab.up()
        return tour(lab, out_dir)
    except m6lab.LabError as e:
        print(f"mipv6-lab demo: {e}", file=sys.stderr)
        return 1
    finally:
        problems = lab.down()
        for problem in problems:
            print(f"mipv6-lab demo: {problem}", file=sys.stderr)
        print("lab down")
