#!/usr/bin/env bash
# The classroom tests start a throwaway PostgreSQL cluster from Debian's binaries
# (initdb and pg_ctl in /usr/lib/postgresql/<version>/bin); no cluster is created here.
# runuser (util-linux) runs them as the postgres user when the tests run as root.
# Idempotent: does nothing when the server package is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null && command -v runuser > /dev/null; then
  echo "postgresql already installed: $(ls -d /usr/lib/postgresql/*/bin | head -1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql util-linux < /dev/null
ls /usr/lib/postgresql/*/bin/initdb
