#!/bin/bash
# Second stage of cloud-init, shipped in the node kit: turns a fresh Oracle Linux 8/9 instance into
# a vtap-archiver sink, demo source or file server. Deployment-specific values come from instance
# metadata (IMDSv2), written there by the stack. Safe to re-run.
# Sourcing it (tests do) defines the functions and runs nothing.
set -euo pipefail

role=unknown
kit_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
imds_base=http://169.254.169.254/opc/v2/instance/metadata
# The agent needs zstd in node:zlib, which Node.js has from 22.15 on.
node_min_major=22
node_min_minor=15

log() { echo "vtap-archiver-bootstrap[$role]: $*"; }

# Prints one metadata value; fails when the key is missing.
metadata() {
  curl -fsS --retry 10 --retry-delay 3 -H 'Authorization: Bearer Oracle' "$imds_base/$1"
}

# dnf can lose a race with the OS's own first-boot updates; retry a few times.
dnf_retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if dnf -y -q "$@"; then return 0; fi
    log "dnf $* failed (attempt $attempt), retrying"
    sleep "${DNF_RETRY_SECONDS:-15}"
  done
  return 1
}

dnf_install() {
  dnf_retry install "$@"
}

# True when `node` runs and is at least node_min_major.node_min_minor.
node_version_ok() {
  local version major minor
  version=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  IFS=. read -r major minor _ <<<"$version"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  (( major > node_min_major || (major == node_min_major && minor >= node_min_minor) ))
}

# Fails loudly (boot log, then exit) when the Node.js on PATH cannot run the agent.
require_node() {
  if node_version_ok; then return 0; fi
  local found
  found=$(node -p 'process.versions.node' 2>/dev/null || echo none)
  log "FATAL: the agent needs Node.js >= $node_min_major.$node_min_minor (zstd in node:zlib); found: $found." >&2
  log "FATAL: the agent is NOT installed. Install a newer nodejs (dnf module list nodejs) and re-run: bash $kit_dir/bootstrap.sh $role" >&2
  exit 1
}

install_node22() {
  if node_version_ok; then return 0; fi
  # Oracle Linux 8 and 9 ship Node.js 22 as an AppStream module stream; an older 22.x from a
  # stale mirror would fail at import, so the version is checked after the install as well.
  dnf_retry module reset nodejs
  dnf_retry module enable nodejs:22
  dnf_install nodejs
  if ! node_version_ok; then dnf_retry upgrade nodejs || true; fi
  require_node
}

# Opens ports in firewalld when it runs (Oracle Linux platform images enable it).
open_ports() {
  if ! systemctl is-active --quiet firewalld; then return 0; fi
  local port
  for port in "$@"; do
    firewall-cmd --quiet --permanent --add-port="$port"
  done
  firewall-cmd --quiet --reload
}

setup_sink() {
  # The agent runs tcpdump to capture, ip to find the default-route interface, ethtool to turn GRO/LRO off.
  dnf_install tcpdump ethtool iproute
  install_node22

  if ! id vtap-archiver >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/vtap-archiver --shell /sbin/nologin vtap-archiver
  fi
  install -d -m 0755 /opt/vtap-archiver
  install -m 0644 "$kit_dir/vtap-archiver.mjs" /opt/vtap-archiver/vtap-archiver.mjs
  cat > /usr/local/bin/vtap-archiver <<'EOF'
#!/bin/sh
exec /usr/bin/node /opt/vtap-archiver/vtap-archiver.mjs "$@"
EOF
  chmod 0755 /usr/local/bin/vtap-archiver
  ln -sf /usr/local/bin/vtap-archiver /usr/bin/vtap-archiver

  # The config is JSON in metadata; refuse to start on a value that does not parse.
  install -d -m 0755 /etc/vtap-archiver
  metadata vtap_archiver_config > /etc/vtap-archiver/config.json.new
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' /etc/vtap-archiver/config.json.new
  chmod 0644 /etc/vtap-archiver/config.json.new
  mv /etc/vtap-archiver/config.json.new /etc/vtap-archiver/config.json
  # /var/lib/vtap-archiver is the unit's StateDirectory=: systemd creates it with the right owner.

  local health_port ports=() port
  health_port=$(metadata vtap_archiver_health_port)
  ports+=("$health_port/tcp")
  for port in $(metadata vtap_archiver_encapsulation_ports | tr ',' ' '); do
    ports+=("$port/udp")
  done
  open_ports "${ports[@]}"

  install -m 0644 "$kit_dir/vtap-archiver.service" /etc/systemd/system/vtap-archiver.service
  systemctl daemon-reload
  systemctl enable --now vtap-archiver.service
  log "agent $(/usr/local/bin/vtap-archiver --version) started; follow it with: journalctl -u vtap-archiver -f"
}

setup_source() {
  local mtu iface server
  mtu=$(metadata vtap_archiver_source_mtu)
  server=$(metadata vtap_archiver_file_server)
  iface=$(ip -o route show default | awk '{print $5; exit}')
  # At most 8950 so a mirrored packet plus 50 bytes of VXLAN fits the target's 9000-byte MTU.
  if [ "$mtu" -gt 8950 ]; then mtu=8950; fi
  ip link set dev "$iface" mtu "$mtu"
  # Keep it across reboots and DHCP renewals (OCI's DHCP offers 9000).
  local connection
  connection=$(nmcli -g GENERAL.CONNECTION device show "$iface" || true)
  if [ -n "$connection" ]; then
    nmcli connection modify "$connection" 802-3-ethernet.mtu "$mtu" || log "could not persist MTU with nmcli"
  fi

  if [ -z "$server" ]; then
    log "no file server in metadata: no demo traffic"
    return 0
  fi
  install -m 0755 "$kit_dir/demo-fetch.sh" /usr/local/bin/vtap-archiver-demo-fetch
  cat > /etc/systemd/system/vtap-archiver-demo-fetch.service <<EOF
[Unit]
Description=vtap-archiver demo traffic: fetch the file server's dummy file in a loop
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/vtap-archiver-demo-fetch http://$server/demo.bin
Restart=always
RestartSec=5
DynamicUser=yes

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable --now vtap-archiver-demo-fetch.service
}

setup_file_server() {
  local megabytes
  # Oracle Linux 8 images may carry only platform-python.
  command -v python3 >/dev/null 2>&1 || dnf_install python3
  megabytes=$(metadata vtap_archiver_demo_file_megabytes)
  install -d -m 0755 /srv/vtap-archiver-demo
  if [ ! -s /srv/vtap-archiver-demo/demo.bin ]; then
    head -c "$((megabytes * 1000 * 1000))" /dev/urandom > /srv/vtap-archiver-demo/demo.bin
    chmod 0644 /srv/vtap-archiver-demo/demo.bin
  fi
  # Serves its working directory: Python 3.6 (Oracle Linux 8) has no `http.server --directory`.
  cat > /etc/systemd/system/vtap-archiver-file-server.service <<'EOF'
[Unit]
Description=vtap-archiver demo file server (HTTP on port 80, VCN only by NSG)
After=network-online.target
Wants=network-online.target

[Service]
WorkingDirectory=/srv/vtap-archiver-demo
ExecStart=/usr/bin/python3 -m http.server 80
Restart=always
DynamicUser=yes
AmbientCapabilities=CAP_NET_BIND_SERVICE

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable --now vtap-archiver-file-server.service
  open_ports 80/tcp
}

main() {
  role=${1:?usage: bootstrap.sh sink|source|file-server}
  case "$role" in
    sink) setup_sink ;;
    source) setup_source ;;
    file-server) setup_file_server ;;
    *) echo "bootstrap.sh: unknown role '$role'" >&2; exit 2 ;;
  esac
  log "done"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
