#!/usr/bin/env bash
# Installs a current tshark (Debian 13 "trixie": Wireshark 4.4) in a minimal chroot, beside the
# distribution's own. Debian 12's tshark 4.0 reads only the first frame of a multi-frame zstd file;
# 4.4 reads them all, so the tests open zstd archive objects with this one (run as root; idempotent).
#   usage: scripts/install-tshark-current.sh [DIR]   (default /opt/vtap-archiver-trixie)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
DIR="${1:-${VTAP_ARCHIVER_TRIXIE:-/opt/vtap-archiver-trixie}}"
# The Debian archive this machine's apt already uses (deb822 .sources or a one-line sources.list).
apt_mirror() {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'
  } | grep -v -- '-security' | head -1 || true
}
MIRROR="${DEBIAN_MIRROR:-$(apt_mirror)}"
if [ -z "$MIRROR" ]; then
  echo "tshark-current: no Debian archive in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2
  exit 1
fi
if [ -x "$DIR/usr/bin/tshark" ] && chroot "$DIR" tshark --version >/dev/null 2>&1; then
  echo "tshark-current: $(chroot "$DIR" tshark --version | head -1) in $DIR"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends debootstrap
fi
# A half-made chroot from an interrupted run: start again.
rm -rf "$DIR"
debootstrap --variant=minbase --include=tshark,zstd trixie "$DIR" "$MIRROR"
chroot "$DIR" tshark --version | head -1
