#!/usr/bin/env bash
# Installs the Debian packages vtap-archiver's demo and tests drive (run as root; idempotent).
# Used by the README's set-up and by .ci/run, so both install the same list.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Real tools the tests drive: capture (tcpdump), dissection (tshark, capinfos), namespaces and kernel
# tunnels (iproute2), offload control (ethtool), replay (tcpreplay), codecs, and the infra checks.
APT_PACKAGES=(tcpdump tshark iproute2 ethtool tcpreplay gzip zstd python3-scapy shellcheck cloud-init systemd unzip zip procps kmod curl openssl)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# A current tshark (Debian 13, Wireshark 4.4) in a chroot: the tests open multi-frame zstd objects
# with it (Debian 12's tshark 4.0 reads only a zstd file's first frame).
bash "$(dirname "$0")/install-tshark-current.sh"
