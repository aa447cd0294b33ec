#!/usr/bin/env bash
# The serving test runs the curl commands README.md shows to students, with curl itself.
# Idempotent: does nothing when curl is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if command -v curl >/dev/null 2>&1; then
  echo "curl already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends curl ca-certificates < /dev/null
curl --version | head -n 1
