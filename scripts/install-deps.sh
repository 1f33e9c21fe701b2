#!/usr/bin/env bash
# Installs what building and testing Lifeboat needs on Debian 12 (idempotent, quiet when
# everything is present). Swift itself must already be installed (https://swift.org).
set -euo pipefail
packages=(libzstd-dev libsqlite3-dev pkg-config python3 util-linux time "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6 (https://swift.org/install)" >&2; exit 1; }
