#!/bin/sh
# Install the Debian packages synclab needs to build, test and chart, when they
# are missing. Idempotent: when everything is present it installs nothing and
# does not touch the network.
#
#   scripts/install-deps.sh          build + run + test dependencies
#
# Run as root (or through sudo) on Debian or Ubuntu.
set -eu

packages="gcc make pkg-config libc6-dev libhwloc-dev libpfm4-dev libcmocka-dev libck-dev liburcu-dev bats gnuplot-nox python3"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: missing packages:$missing; run this script as root" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
