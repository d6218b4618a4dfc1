#!/usr/bin/env bash
# Installs the storage emulators runtime/storage's tests download from:
# s3rver (an S3-compatible server) and Azurite (Microsoft's Azure Storage
# emulator), both Node.js programs from the npm registry, with the versions
# and sha512 checksums pinned in scripts/<name>/package-lock.json (npm ci
# checks each package against it; install scripts are not run). Into
# ~/.cache/kserve-gen/<name>; skipped when that install matches its lock.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}"
for name in s3rver azurite; do
	dest="$cache/$name"
	if [ -x "$dest/node_modules/.bin/$name" ] && cmp -s "scripts/$name/package-lock.json" "$dest/package-lock.json"; then
		continue
	fi
	command -v npm >/dev/null || { echo "setup-emulators: npm is needed (apt-get install npm)" >&2; exit 1; }
	echo "setup: installing $name into $dest"
	rm -rf "$dest"
	mkdir -p "$dest"
	cp "scripts/$name/package.json" "scripts/$name/package-lock.json" "$dest/"
	(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
	"$dest/node_modules/.bin/$name" --version >/dev/null
done
