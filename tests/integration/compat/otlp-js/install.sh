#!/bin/sh
# Installs the pinned OpenTelemetry JS packages that emit.js needs into
# DIR/node_modules, from the npm registry, exactly as package-lock.json says.
# Does nothing when DIR already holds this lock's install, so it is cheap to
# call before every run. Usage: install.sh DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: install.sh DIR}
if [ -d "$dir/node_modules" ] && cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "npm is not installed" >&2; exit 3; }
mkdir -p "$dir"
# Install beside the target and move into place, so an interrupted install
# never looks complete.
tmp=$(mktemp -d "$dir/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=30000 --fetch-retries=1)
rm -rf "$dir/node_modules" "$dir/package-lock.json"
mv "$tmp/node_modules" "$dir/node_modules"
cp "$here/package-lock.json" "$dir/package-lock.json"
