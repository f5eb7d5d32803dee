#!/usr/bin/env bash
# Installs the course's two npm packages, each pinned by a package-lock.json, into a folder of
# its own (nothing global):
#   deploy/proxy/  configurable-http-proxy, JupyterHub's proxy (deploy/, tests/test_hub.py)
#   tools/site/    KaTeX, the math of the static site (make site, tests/test_site.py)
# Needs node >= 20 and npm; where they are missing the hub and site tests are skipped with the
# reason. Usage: tools/ensure_npm_packages.sh [proxy|site]...   (default: both)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WHICH="${*:-proxy site}"
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure_npm_packages: no npm here (install node >= 20 and npm); the hub and site tests will be skipped" >&2
  exit 0
fi
for what in $WHICH; do
  case "$what" in
    proxy) dir="$ROOT/deploy/proxy" ;;
    site) dir="$ROOT/tools/site" ;;
    *) echo "ensure_npm_packages: unknown package set $what" >&2; exit 2 ;;
  esac
  # up to date when npm's own record of the install is newer than the lock file
  if [ -f "$dir/node_modules/.package-lock.json" ] && \
     [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then continue; fi
  echo "ensure_npm_packages: npm ci in ${dir#"$ROOT"/} (one time, a few seconds)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || \
    echo "ensure_npm_packages: npm ci failed in $dir; its tests will be skipped" >&2
done
exit 0
