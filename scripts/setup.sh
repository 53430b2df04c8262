#!/usr/bin/env bash
# Installs every Debian package mipv6 needs to build, test, benchmark and fuzz.
# Idempotent: when everything is present it prints nothing and exits 0.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config g++ clang clang-format libclang-rt-14-dev
  # libraries (DESIGN.md §6)
  libssl-dev libmnl-dev libnetfilter-queue-dev libtomlplusplus-dev nlohmann-json3-dev
  libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  # test peers and tools
  python3 python3-scapy tshark radvd iperf3 socat iproute2 iptables valgrind ethtool
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install packages" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
