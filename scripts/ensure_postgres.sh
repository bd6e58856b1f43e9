#!/usr/bin/env bash
# The PostgreSQL server tests/dbt/test_postgres.py starts (a throwaway cluster per test session).
# Installs Debian's package when the machine lacks it; does not start a system service.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed and this is not root: install postgresql, or the postgres test is skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
