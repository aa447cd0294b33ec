#!/usr/bin/env bash
# The UI screenshots and their test drive Debian's chromium through Playwright's Python
# package (Playwright's own browser download is not used). Fonts so text renders.
# Idempotent: does nothing when chromium and the fonts are already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(chromium fonts-dejavu-core fonts-liberation)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "chromium and fonts already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" < /dev/null
/usr/bin/chromium --version
