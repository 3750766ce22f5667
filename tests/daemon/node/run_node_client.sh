#!/usr/bin/env bash
# ctest driver for the Node.js reflection client: installs the npm packages from
# package-lock.json (npm ci) when missing, starts headroomd on a temporary socket with a
# recorded machine, runs reflection_client.js against it, then stops the daemon with SIGTERM
# and checks that the socket is gone. Exit 77 (skipped) only when npm cannot install.
set -euo pipefail
headroomd="$1"
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -d "$here/node_modules/grpc-reflection-js" ] || [ ! -d "$here/node_modules/@grpc/grpc-js" ]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "npm ci failed (no registry?): skipping the Node.js client test" >&2
    exit 77
  fi
fi

tmp="$(mktemp -d /tmp/hrd-node-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/hardware.txtpb" <<'TXT'
cpu { model: "Test CPU" packages: 1 cores: 8 threads: 16 numa_nodes: 1 features: "avx2" }
ram { total_bytes: 68719476736 available_bytes: 51539607552 source: "fixture" }
gpus { name: "NVIDIA GeForce RTX 4090" vendor_id: 4318 device_id: 9860
       type: DEVICE_TYPE_DISCRETE_GPU placeable: true memory_total_bytes: 25769803776
       memory_free_bytes: 23622320128 bandwidth_gbps: 1008 bandwidth_source: SOURCE_TABLE
       memory_source: SOURCE_REPORTED fp16_tflops: 165 numa_node: -1 catalog_id: "rtx-4090" }
host_bandwidth_gbps: 60
host_bandwidth_source: SOURCE_ASSUMED
fingerprint: "node-test-fixture"
TXT

socket="$tmp/d.sock"
XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache" \
  "$headroomd" --listen "unix:$socket" --fixture "$tmp/hardware.txtpb" 2> "$tmp/headroomd.log" &
pid=$!
for _ in $(seq 1 200); do
  [ -S "$socket" ] && grep -q "serving on" "$tmp/headroomd.log" && break
  sleep 0.1
done
if ! node "$here/reflection_client.js" "unix:$socket"; then
  cat "$tmp/headroomd.log" >&2
  exit 1
fi
kill -TERM "$pid"
wait "$pid"
pid=""
if [ -e "$socket" ]; then
  echo "the socket $socket is still there after SIGTERM" >&2
  exit 1
fi
echo "headroomd stopped on SIGTERM and removed its socket"
