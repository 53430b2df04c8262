#!/usr/bin/env bash
# The demo until the simulator and the lab land: decode a bundled capture of a mobile node's
# arrival on a foreign link (built by scapy, independently of our code) with mipv6-pcap.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=build/dev/apps/mipv6-pcap/mipv6-pcap
capture=demo/registration.pcap
[ -x "$tool" ] || { echo "demo: $tool is not built; run 'make demo'" >&2; exit 1; }

cat <<'TXT'
== mipv6 demo: a mobile node arrives on a foreign link ======================================
Home link 2001:db8:1::/64 (home agent 2001:db8:1::1, home address 2001:db8:1::100),
foreign link 2001:db8:2::/64, correspondent 2001:db8:3::10. The capture is taken on the
foreign link; every line below is decoded by our wire layer (src/wire) through mipv6-pcap.

TXT
"$tool" summary "$capture"

cat <<'TXT'

What happened (RFC 6275):
  1-3    router discovery and DAD for the care-of address (§11.5)
  4-5    Dynamic Home Agent Address Discovery to the home-agents anycast address (§11.4.1)
  6-7    home registration: BU with H, A, the Home Address option and the Alternate Care-of
         Address; BA through a Type 2 Routing header with a Binding Refresh Advice (§11.7.1)
  8-9    a ping to the home address, through the bidirectional tunnel (§10.4.1, §11.3.1)
  10-13  return routability: HoTI/HoT via the home agent, CoTI/CoT direct (§5.2)
  14-15  correspondent registration with Nonce Indices and Binding Authorization Data (§11.7.2)
  16-17  route-optimised ping: Type 2 Routing header in, Home Address option out (§9.3.2)

== Packet 6, the home registration Binding Update, in full ====================================
TXT
"$tool" decode "$capture" | sed -n 6p | /usr/bin/python3 -m json.tool
echo
echo "Try: $tool decode $capture | less     (docs/json.md explains the fields)"
