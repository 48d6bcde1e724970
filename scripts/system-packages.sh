#!/bin/sh
# System (Debian) packages the tests need, installed only when missing. Run by `make setup`.
# Add a package with its own check below (another engineer adds chromium for the browser tests).
set -e

missing=""
# PostgreSQL server binaries: the OMOP tests start a throw-away server from them.
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$missing postgresql"

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Needs Debian packages:$missing. Run as root: apt-get update && apt-get install -y$missing" >&2
        exit 1
    fi
    echo "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
