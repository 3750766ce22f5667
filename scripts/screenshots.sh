#!/usr/bin/env bash
# Draws the pictures in docs/screenshots/ the way a user sees them: under Xvfb, xfce4-panel
# (its status tray hosts StatusNotifierItems) shows headroom-tray's icon and menu, and dunst
# draws the notification that fires when the fixture machine's free GPU memory drops.
# usage: scripts/screenshots.sh [BUILD_DIR]   (after scripts/build.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/deps.sh"
for p in xfce4-panel xdotool imagemagick; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
done
build="${1:-$root/build}"
out="$root/docs/screenshots"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$XDG_CONFIG_HOME/headroom" "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
# One panel at the top: a separator that expands, then the status tray.
cat >"$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="30"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray">
      <property name="icon-size" type="uint" value="22"/>
    </property>
  </property>
</channel>
XML
cp "$root/tests/fixtures/tray/desktop-24gib.txtpb" "$work/machine.txtpb"
cat >"$XDG_CONFIG_HOME/headroom/tray.txtpb" <<'CFG'
models { catalog_id: "deepseek-r1-distill-qwen-32b" file_type: "Q4_K_M" }
models { catalog_id: "qwen3-8b" file_type: "Q4_K_M" }
models { catalog_id: "llama-3.1-8b-instruct" file_type: "Q8_0" }
skip_default_libraries: true
n_ctx: 8192
min_notify_interval_s: 1
CFG
export DISPLAY=":77"
Xvfb "$DISPLAY" -screen 0 1024x600x24 -nolisten tcp >/dev/null 2>&1 & pids+=($!)
sleep 1
eval "$(dbus-launch --sh-syntax)"; pids+=("$DBUS_SESSION_BUS_PID")
xsetroot -solid '#3b4252' 2>/dev/null || true
xfce4-panel >"$work/panel.log" 2>&1 & pids+=($!)
cat >"$work/dunstrc" <<'DUNST'
[global]
    geometry = "420x5-10+40"
    font = DejaVu Sans 10
    frame_width = 2
    frame_color = "#88c0d0"
    padding = 10
    horizontal_padding = 10
    format = "<b>%s</b>\n%b"
[urgency_normal]
    background = "#2e3440"
    foreground = "#eceff4"
    timeout = 0
[urgency_critical]
    background = "#bf616a"
    foreground = "#ffffff"
    timeout = 0
DUNST
dunst -config "$work/dunstrc" >"$work/dunst.log" 2>&1 & pids+=($!)
sock="unix:$work/run/headroomd.sock"
"$build/daemon/headroomd" --listen "$sock" --fixture "$work/machine.txtpb" \
  --refresh-seconds 1 --skip-bandwidth-measurement >"$work/daemon.log" 2>&1 & pids+=($!)
sleep 2
"$build/tray/headroom-tray" --endpoint "$sock" >"$work/tray.log" 2>&1 & pids+=($!)
sleep 4
# The 32B model loses the GPU when another program takes 12 GiB.
sed -i "s/memory_free_bytes: [0-9]*/memory_free_bytes: $((12 * 1024 * 1024 * 1024))/" \
  "$work/machine.txtpb"
sleep 4
import -window root "$out/notification.png"
# Open the tray icon's menu: the status tray sits at the right end of the top panel.
xdotool mousemove 1010 15 click 1
sleep 1
import -window root "$out/tray-menu.png"
echo "wrote $out/notification.png $out/tray-menu.png"
cat "$work/tray.log"
