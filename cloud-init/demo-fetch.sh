#!/bin/bash
# Demo traffic for mirroring: downloads one URL over and over, discarding the body, with a short
# pause so a small source never saturates its VNIC (mirroring shares the source's bandwidth).
set -uo pipefail

url=${1:?usage: demo-fetch.sh URL [pause-seconds]}
pause=${2:-2}

while true; do
  if ! curl -fsS --max-time 300 -o /dev/null "$url"; then
    echo "demo-fetch: $url failed; retrying" >&2
  fi
  sleep "$pause"
done
