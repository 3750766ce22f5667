#!/usr/bin/env bash
# Desktop integration of headroom-tray: Xvfb, a private D-Bus session, dunst as the
# notification server, a StatusNotifierWatcher (sni_watcher.py), the real headroomd on a
# fixture machine whose free GPU memory this script changes.
# Checks: the item registers; its status follows the fit; the notification arrives with the
# right summary and body (read from the bus with dbus-monitor); a daemon restart is survived.
# usage: tray_integration.sh HEADROOM_TRAY HEADROOMD FIXTURE_FILE
set -euo pipefail
tray_bin="$1"; daemon_bin="$2"; fixture_src="$3"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 0 ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in tray.log daemon.log sni.log notify.log dunst.log; do
    echo "--- $f" >&2; tail -n 40 "$work/$f" >&2 2>/dev/null || true
  done
  exit 1
}
# wait_for FILE PATTERN SECONDS
wait_for() {
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    if grep -q -- "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  fail "timed out waiting for '$2' in $(basename "$1")"
}

export HOME="$work/home" XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/config"
export XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/headroom" && mkdir -m 0700 "$XDG_RUNTIME_DIR"
cp "$fixture_src" "$work/machine.txtpb"
sock="unix:$work/run/headroomd.sock"

display=":$((90 + RANDOM % 400))"
Xvfb "$display" -screen 0 1024x768x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
export DISPLAY="$display"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

eval "$(dbus-launch --sh-syntax)"
pids+=("$DBUS_SESSION_BUS_PID")

dbus-monitor --session "interface='org.freedesktop.Notifications',member='Notify'" \
  >"$work/notify.log" 2>&1 &
pids+=($!)
/usr/bin/python3 "$here/sni_watcher.py" "$work/sni.log" >"$work/sni-stderr.log" 2>&1 &
pids+=($!)
dunst -config /dev/null >"$work/dunst.log" 2>&1 &
pids+=($!)

start_daemon() {
  "$daemon_bin" --listen "$sock" --fixture "$work/machine.txtpb" --refresh-seconds 1 \
    --skip-bandwidth-measurement >>"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  pids+=("$daemon_pid")
}
set_free_gib() {  # the fixture's free GPU memory
  sed -i "s/memory_free_bytes: [0-9]*/memory_free_bytes: $(($1 * 1024 * 1024 * 1024))/" \
    "$work/machine.txtpb"
}
start_daemon

cat >"$XDG_CONFIG_HOME/headroom/tray.txtpb" <<CFG
models { catalog_id: "qwen3-8b" file_type: "Q4_K_M" }
skip_default_libraries: true
n_ctx: 8192
min_notify_interval_s: 1
CFG
"$tray_bin" --endpoint "$sock" >"$work/tray.log" 2>&1 &
pids+=($!)

wait_for "$work/sni.log" "registered" 20
wait_for "$work/tray.log" "state: all models fit" 30
wait_for "$work/sni.log" "Active emblem-default" 10
echo "ok: item registered, all fit"

set_free_gib 2
wait_for "$work/notify.log" "Qwen3 8B Q4_K_M no longer fits on the GPU" 20
wait_for "$work/notify.log" "layers fit" 5
wait_for "$work/sni.log" "Active dialog-warning" 10
echo "ok: partial fit notified: $(grep -A1 'no longer fits' "$work/notify.log" | tail -n 1)"

kill "$daemon_pid"
wait_for "$work/tray.log" "state: daemon not running" 20
wait_for "$work/sni.log" "network-offline" 10
echo "ok: daemon down shown"
set_free_gib 22
start_daemon
wait_for "$work/notify.log" "Qwen3 8B Q4_K_M fits on the GPU again" 30
wait_for "$work/sni.log" "emblem-default" 10
echo "ok: daemon restart survived; fits-again notified"
echo "PASS"
