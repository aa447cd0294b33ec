#!/usr/bin/env bash
# The two-server test (test/test_classroom_two_servers.py) puts two class servers behind a real
# nginx, started by the test as an ordinary process with a configuration of its own (the
# package's own service is not used). deploy/nginx-class.conf is the site the lab ships for it.
# Idempotent: does nothing when nginx is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  echo "nginx already installed: $(/usr/sbin/nginx -v 2>&1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nginx < /dev/null
/usr/sbin/nginx -v
