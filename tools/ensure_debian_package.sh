#!/usr/bin/env bash
# Installs a Debian package when the program it provides is missing:
#   tools/ensure_debian_package.sh PROGRAM PACKAGE "WHAT IS SKIPPED WITHOUT IT"
# make test runs it for chromium (the browser tests) and bubblewrap (the sandbox of every grading
# kernel: without it the grader refuses to grade unless told --unsafe-no-sandbox). It never fails
# the build: where it cannot install (no apt-get, not root and no passwordless sudo) it says so,
# and the tests that need the program skip with that reason.
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 PROGRAM PACKAGE 'what is skipped without it'" >&2; exit 2
fi
PROGRAM=$1 PACKAGE=$2 SKIPPED=$3
if command -v "$PROGRAM" >/dev/null 2>&1; then exit 0; fi
say() { echo "ensure $PACKAGE: $*" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then
  say "no apt-get here; install $PACKAGE yourself ($SKIPPED)"; exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "not root and no passwordless sudo ($SKIPPED)"; exit 0
  fi
fi
say "installing Debian's $PACKAGE (one time)"
$SUDO apt-get update -qq >/dev/null && \
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$PACKAGE" >/dev/null || \
  say "install failed ($SKIPPED)"
exit 0
