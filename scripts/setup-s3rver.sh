#!/usr/bin/env bash
# Installs s3rver (an S3-compatible server in Node.js) for the s3:// tests of
# runtime/storage, from the npm registry, with the versions and sha512
# checksums pinned in scripts/s3rver/package-lock.json (npm ci checks each
# package against it; install scripts are not run). Into
# ~/.cache/kserve-gen/s3rver; skipped when that install matches the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}/s3rver"
if [ -x "$dest/node_modules/.bin/s3rver" ] && cmp -s scripts/s3rver/package-lock.json "$dest/package-lock.json"; then
	exit 0
fi
command -v npm >/dev/null || { echo "setup-s3rver: npm is needed (apt-get install npm)" >&2; exit 1; }
echo "setup: installing s3rver into $dest"
rm -rf "$dest"
mkdir -p "$dest"
cp scripts/s3rver/package.json scripts/s3rver/package-lock.json "$dest/"
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
"$dest/node_modules/.bin/s3rver" --version >/dev/null
