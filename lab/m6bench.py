"""`mipv6-lab bench`: handover time in the lab (issue 6), once with RFC 4861's default Router
Advertisement intervals and once with the lab's fast ones.

Handover time = the mobile node's cable plugged into the new link (carrier up) -> the first
echo reply the correspondent receives for a request sent after that moment: the first packet
delivered to the home address at the new care-of address, and back. The mobile node moves
between the foreign links A and B (after a first registration, so that the home agent's DAD
of the home address, §10.3.1, is not part of it); the figure is the median of the moves.
Route optimisation is off, so every figure is about movement detection and home registration.
"""

import statistics
import time

import m6lab
import m6traffic

HOME_ADDRESS = "2001:db8:1::100"
# RFC 4861 §6.2.1's defaults (radvd's too): MaxRtrAdvInterval 600 s, MinRtrAdvInterval 200 s.
RA_SETTINGS = {"default_ra": (200, 600), "fast_ra": (0.05, 0.15)}


def registered_on(lab, prefix):
    try:
        bul = lab.ctl("mn", "show", "bul")
    except (m6lab.LabError, ValueError):
        return None
    for home in bul.get("home_addresses", []):
        care_of = home.get("care_of_address")
        if home.get("state") == "registered" and care_of and \
                m6lab.same_prefix(prefix, care_of):
            return care_of
    return None


def measure(run_dir, binaries, ra, moves):
    """The handover times (ms) of `moves` moves with RA intervals `ra`."""
    tag = f"bench-{ra[1]}".replace(".", "")
    overrides = {"lab": {"prefix": f"m6l-{tag}", "ra_min_interval": ra[0],
                         "ra_max_interval": ra[1]},
                 "nodes": {"mn": {"mipv6d": {"mobile_node": {"route_optimization": "never"}}}}}
    lab = m6lab.Lab(f"{run_dir}/{tag}", m6lab.DEFAULT_TOPOLOGY, overrides=overrides,
                    binaries=binaries)
    try:
        lab.up()
        pinger = m6traffic.Pinger(lab, "cn", HOME_ADDRESS, interval=0.01)
        try:
            times = []
            for i in range(moves + 1):
                link = "a" if i % 2 == 0 else "b"
                attached = lab.move("mn", link)
                prefix = lab.topology["links"][link]["prefix"]
                m6lab.wait_until(lambda: registered_on(lab, prefix), 20,
                                 f"registration from link {link}")
                first = m6lab.wait_until(lambda: pinger.first_reply_after(attached), 10,
                                         "the first echo reply after the move")
                if i > 0:
                    times.append((first[2] - attached) * 1000)
            return times
        finally:
            pinger.stop()
    finally:
        lab.down()


def main(args):
    lab = m6lab.Lab(args.run_dir, m6lab.DEFAULT_TOPOLOGY, args.bin_dir)
    lab.find_binaries()
    lines = []
    for name, ra in RA_SETTINGS.items():
        try:
            started = time.monotonic()
            times = measure(args.run_dir, lab.binaries, ra, args.moves)
            lines.append(f"BENCH handover_ms_{name} {statistics.median(times):.0f} ms "
                         f"min={min(times):.0f} max={max(times):.0f} moves={len(times)} "
                         f"ra={ra[0]}-{ra[1]}s")
            print(f"mipv6-lab bench: {name}: {' '.join(f'{t:.0f}' for t in times)} ms "
                  f"({time.monotonic() - started:.1f} s)", flush=True)
        except m6lab.LabError as e:
            lines.append(f"BENCH handover_ms_{name} ERROR {' '.join(str(e).split())}")
    for line in lines:
        print(line)
    if args.bench_out:
        with open(args.bench_out, "w") as f:
            f.write("".join(f"{line}\n" for line in lines))
    return 1 if any(" ERROR " in line for line in lines) else 0
