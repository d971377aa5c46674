#!/bin/sh
# Installs the headless browser the report test (tests/test_report_browser.py) drives: Debian's
# chromium package. No browser is downloaded from anywhere else. Idempotent; prints the binary.
# Usage: tests/browser_setup.sh        (as root, or with sudo available)
set -eu
for bin in chromium chromium-browser; do
    if command -v "$bin" >/dev/null 2>&1; then
        command -v "$bin"
        exit 0
    fi
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
