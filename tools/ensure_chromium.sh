#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing.
# The browser tests skip with a clear reason when it cannot be installed.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no apt-get here; browser tests will be skipped" >&2; exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure_chromium: not root and no passwordless sudo; browser tests will be skipped" >&2; exit 0
  fi
fi
echo "ensure_chromium: installing Debian's chromium (one time, ~30 s)"
$SUDO apt-get update -qq >/dev/null && \
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || \
  echo "ensure_chromium: install failed; browser tests will be skipped" >&2
exit 0
