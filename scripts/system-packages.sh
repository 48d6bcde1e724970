#!/bin/sh
# System (Debian) packages the tests need, installed only when missing. Run by `make setup`.
# Add a package with its own check below.
set -e

missing=""
# PostgreSQL server binaries: the OMOP tests start a throw-away server from them.
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"
# Chromium: the browser tests drive the what-if panel in it with Playwright (no browser is downloaded).
[ -x /usr/bin/chromium ] || missing="$missing chromium"

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Needs Debian packages:$missing. Run as root: apt-get update && apt-get install -y$missing" >&2
        exit 1
    fi
    echo "installing Debian packages:$missing"
    # Wait for another apt run (a colleague's set-up) rather than fail on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi
