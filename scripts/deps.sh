#!/usr/bin/env bash
# Installs, with apt, whatever Headroom's build and tests need that this machine lacks.
# Idempotent: when everything is present it touches nothing (no apt-get update).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libprotobuf-dev protobuf-compiler libabsl-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libgrpc-dev
  libhwloc-dev hwloc libvulkan-dev mesa-vulkan-drivers vulkan-tools glslc
  libsystemd-dev valgrind
  libgtk-3-dev libayatana-appindicator3-dev libnotify-dev
  xvfb x11-utils dbus dbus-x11 dunst python3-gi python3-dbus
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The daemon's Node.js reflection-client test needs node and npm (NodeSource's nodejs bundles
# npm; Debian's splits it out).
if ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "headroom: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
