#!/usr/bin/env bash
# The main job: install what is missing, build, then show the catalog and what a real GGUF
# file holds, then start the daemon (headroomd) on its default socket and show a live fit
# through it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/deps.sh"
bash "$root/scripts/build.sh"
headroom="${HEADROOM_BUILD_DIR:-$root/build}/cli/headroom"
echo "== headroom models"
"$headroom" models
echo
echo "== headroom inspect (a real llama.cpp Q4_K_M header)"
"$headroom" inspect "$root/tests/fixtures/groundtruth/models/llama-big-Q4_K_M.gguf" --layers

echo
echo "== headroomd: the daemon on its default socket, and a live fit through it"
headroomd="${HEADROOM_BUILD_DIR:-$root/build}/daemon/headroomd"
if [ -n "${XDG_RUNTIME_DIR:-}" ]; then
  socket="$XDG_RUNTIME_DIR/headroom/headroomd.sock"
else
  socket="/tmp/headroom-$(id -u)/headroomd.sock"
fi
log="$(mktemp)"
"$headroomd" --log-level=debug --skip-bandwidth-measurement 2> "$log" &
daemon_pid=$!
stop_daemon() {
  if kill -0 "$daemon_pid" 2>/dev/null; then kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; fi
  rm -f "$log"
}
trap stop_daemon EXIT
for _ in $(seq 1 300); do
  grep -q "serving on" "$log" && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$daemon_pid" 2>/dev/null; then
  # A daemon that is already running keeps its socket; use that one.
  sed 's/^/  /' "$log"
  echo "  (using the daemon that already serves $socket)"
else
  grep "serving on\|hardware from" "$log" | sed 's/^/  /'
fi
echo
echo "== headroom fit deepseek-r1-distill-qwen-7b (answered by headroomd on unix:$socket)"
HEADROOM_ENDPOINT="unix:$socket" "$headroom" fit deepseek-r1-distill-qwen-7b --ctx 32k
echo
echo "== the daemon saw the call (its log):"
grep "connection fd:" "$log" | sed 's/^/  /' || true
