#!/usr/bin/env bash
# The demo (`make demo`): the basic handover of issue 5 in the simulator — the real protocol
# engines over simulated links, no root needed — then the first handover's signalling, decoded
# from the simulator's own capture by mipv6-pcap.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MIPV6_BUILD:-build/dev}  # where `make build` puts the binaries
sim=$build/apps/mipv6-sim/mipv6-sim
pcap=$build/apps/mipv6-pcap/mipv6-pcap
scenario=scenarios/basic-handover.toml
out=${MIPV6_DEMO_OUT:-build/demo}
for tool in "$sim" "$pcap"; do
  [ -x "$tool" ] || { echo "demo: $tool is not built; run 'make demo'" >&2; exit 1; }
done

cat <<'TXT'
== mipv6 demo: a mobile node moves home -> A -> B -> home (simulated) ==========================
scenarios/basic-handover.toml: one home agent, two foreign links with their access routers, a
correspondent sending pings and UDP to the mobile node's home address (and UDP back). Fast
Router Advertisements (RFC 6275 §7.5), optimistic DAD (RFC 4429), route optimisation on.
Everything runs in virtual time in the simulator: no root, no network namespaces. (The
namespace lab with real daemons, issue 6, does not exist yet.)

TXT
rm -rf "$out"
"$sim" "$scenario" --out "$out"

cat <<'TXT'

== The first handover on link A, decoded from the simulator's a.pcap by mipv6-pcap =============
(router advertisements, neighbour discovery and data left out)
TXT
"$pcap" summary "$out/a.pcap" |
  awk '!/ (RA|NS|NA) | proto 17 |Echo/ && $2 >= 5 && $2 < 10 && shown++ < 12'
cat <<TXT

  BU/BA   home registration through the home agent (§11.7.1), Type 2 Routing header back
  HoTI..  return routability: HoTI/HoT via the tunnel, CoTI/CoT direct (§5.2.5)
  BU/BA   correspondent registration; from then on the flows go direct (§9.3.2)

Outputs in $out/:
  summary.txt, result.json       the figures above, and every packet (docs/simulator-output.md)
  timeline.svg, sequence-*.svg   the handover timeline and message sequence charts
  home.pcap a.pcap b.pcap backbone.pcap cn.pcap   every frame, for Wireshark or tshark
Other scenarios: ls scenarios/ (docs/scenarios.md); run one with $sim FILE.toml
TXT
