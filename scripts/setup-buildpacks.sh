#!/usr/bin/env bash
# Everything `kserve-gen build` needs on a machine with no image registry
# (safe to run again; whatever is present is left alone):
#   - a Docker engine (Debian's docker.io; dockerd started when none answers),
#   - local base images made with debootstrap from the Debian mirror apt
#     already uses: kserve-gen/cnb-run:<suite> (the image the model server
#     runs in) and kserve-gen/cnb-build:<suite>-go<version> (this machine's Go
#     toolchain and gcc, for cgo),
#   - the Cloud Native Buildpacks lifecycle, built from its Go module at the
#     version pack expects,
#   - kserve-gen's builder, kserve-gen/builder:latest, made from them with
#     `kserve-gen builder create` (again whenever kserve-gen's buildpack or
#     a base image changed).
# Needs root (or sudo) for apt-get, dockerd and debootstrap.
#
#   scripts/setup-buildpacks.sh
#
# Layout under ${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}/buildpacks:
#   rootfs-<suite>-{run,build}.tar   debootstrap results, kept so images can be remade fast
#   lifecycle-v<version>+linux.x86-64.tgz
#   dockerd.log                      when this script started dockerd
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

CACHE="${KSERVE_GEN_CACHE:-$HOME/.cache/kserve-gen}/buildpacks"
mkdir -p "$CACHE"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
say() { echo "setup-buildpacks: $*" >&2; }

# What the steps below stage (a debootstrap root, the build image's root
# with Go appended, some 580 MB, the lifecycle's files) is removed however
# the script ends: a failed or interrupted step left it behind.
scratch=()
cleanup() { [ ${#scratch[@]} -eq 0 ] || $SUDO rm -rf "${scratch[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need=()
for tool in dockerd:docker.io debootstrap:debootstrap; do
	command -v "${tool%%:*}" >/dev/null || [ -x "/usr/sbin/${tool%%:*}" ] || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

if ! docker info >/dev/null 2>&1; then
	say "starting dockerd (log: $CACHE/dockerd.log)"
	$SUDO sh -c "nohup dockerd >'$CACHE/dockerd.log' 2>&1 &"
	for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
	docker info >/dev/null 2>&1 || { say "dockerd did not answer in 60 s:"; tail -20 "$CACHE/dockerd.log" >&2; exit 1; }
fi

# The suite and mirror of this machine's own Debian, so debootstrap fetches
# from where apt already does.
. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 !~ /security|updates/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
go_version=$(go env GOVERSION)
run_image="kserve-gen/cnb-run:$suite"
build_image="kserve-gen/cnb-build:$suite-$go_version"

# rootfs KIND PACKAGES: a debootstrap minbase root with the CNB user (uid and
# gid 1000, as the lifecycle expects from CNB_USER_ID/CNB_GROUP_ID), as a tar.
rootfs() {
	local kind=$1 include=$2 tar="$CACHE/rootfs-$suite-$1.tar"
	if [ ! -s "$tar" ]; then
		[ -n "$mirror" ] || { say "no Debian mirror found in /etc/apt/sources.list*"; exit 1; }
		local dir
		dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
		# rootfs runs in a command substitution, a subshell with traps and
		# variables of its own: it cleans up after itself.
		scratch=("$dir" "$tar.tmp")
		trap cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		say "debootstrap $suite ($kind image; packages: $include)"
		$SUDO debootstrap --variant=minbase --include="$include" "$suite" "$dir" "$mirror" >"$CACHE/debootstrap-$kind.log" 2>&1 ||
			{ tail -20 "$CACHE/debootstrap-$kind.log" >&2; exit 1; }
		$SUDO chroot "$dir" groupadd -g 1000 cnb
		$SUDO chroot "$dir" useradd -u 1000 -g 1000 -m -s /bin/bash cnb
		$SUDO rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
		$SUDO tar -C "$dir" --numeric-owner -cf "$tar.tmp" .
		$SUDO rm -rf "$dir"
		mv "$tar.tmp" "$tar"
	fi
	echo "$tar"
}

# import TAR IMAGE PATH_PREFIX [TAR2 DIR2]: a CNB base image from a root
# file system, with the environment and labels pack reads.
import() {
	local tar=$1 image=$2 path=$3
	docker import \
		--change "ENV CNB_USER_ID=1000" --change "ENV CNB_GROUP_ID=1000" \
		--change "ENV PATH=$path/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--change "LABEL io.buildpacks.stack.id=io.kserve-gen.$suite" \
		--change "LABEL io.buildpacks.base.distro.name=debian" \
		--change "LABEL io.buildpacks.base.distro.version=$VERSION_ID" \
		--change "USER 1000:1000" \
		"$tar" "$image" >/dev/null
}

if ! docker image inspect "$run_image" >/dev/null 2>&1; then
	tar=$(rootfs run ca-certificates)
	say "docker import $run_image"
	import "$tar" "$run_image" ""
fi

if ! docker image inspect "$build_image" >/dev/null 2>&1; then
	tar=$(rootfs build ca-certificates,gcc,libc6-dev)
	# This machine's Go toolchain at /usr/local/go, appended to the root.
	goroot=$(go env GOROOT)
	work=$(mktemp -d)
	scratch+=("$work")
	cp "$tar" "$work/build.tar"
	mkdir -p "$work/usr/local"
	say "adding $go_version from $goroot"
	tar -C "$goroot/.." --exclude="$(basename "$goroot")/test" --exclude="$(basename "$goroot")/doc" \
		--transform "s,^$(basename "$goroot"),usr/local/go," --owner=0 --group=0 \
		-rf "$work/build.tar" "$(basename "$goroot")"
	say "docker import $build_image"
	import "$work/build.tar" "$build_image" "/usr/local/go/bin:"
	rm -rf "$work"
fi

# The lifecycle at the version pack v0.39.1 expects, from the Go module that
# buildpack/lifecycle/go.mod pins (tool directives), packaged as pack wants it.
lc_mod=$repo/buildpack/lifecycle
lc_version=$(go -C "$lc_mod" list -m -f '{{.Version}}' github.com/buildpacks/lifecycle)
lc_version=${lc_version#v}
lc_tgz="$CACHE/lifecycle-v$lc_version+linux.x86-64.tgz"
if [ ! -s "$lc_tgz" ]; then
	say "building lifecycle v$lc_version from its Go module"
	out=$(mktemp -d)
	scratch+=("$out" "$lc_tgz.tmp" "$lc_tgz.tmp.sha256")
	mkdir -p "$out/lifecycle"
	ldf="-s -w -X github.com/buildpacks/lifecycle/cmd.SCMRepository=github.com/buildpacks/lifecycle -X github.com/buildpacks/lifecycle/cmd.SCMCommit=v$lc_version -X github.com/buildpacks/lifecycle/cmd.Version=$lc_version"
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -C "$lc_mod" -trimpath -ldflags "$ldf" -o "$out/lifecycle/lifecycle" github.com/buildpacks/lifecycle/cmd/lifecycle
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -C "$lc_mod" -trimpath -ldflags "$ldf" -o "$out/lifecycle/launcher" github.com/buildpacks/lifecycle/cmd/launcher
	for p in detector analyzer restorer builder exporter rebaser creator extender; do ln -sf lifecycle "$out/lifecycle/$p"; done
	lc_dir=$(go -C "$lc_mod" list -m -f '{{.Dir}}' github.com/buildpacks/lifecycle)
	go -C "$lc_mod" run github.com/buildpacks/lifecycle/tools/packager -inputDir "$out/lifecycle" \
		-archivePath "$lc_tgz.tmp" -descriptorPath "$lc_dir/lifecycle.toml" -version "$lc_version" >/dev/null
	mv "$lc_tgz.tmp" "$lc_tgz"
	mv "$lc_tgz.tmp.sha256" "$lc_tgz.sha256" # the packager's checksum file
	rm -rf "$out"
fi

builder="kserve-gen/builder:latest"
# Kept when it was made the same way (this buildpack, these images and
# lifecycle), made again otherwise.
go run ./cmd/kserve-gen builder create "$builder" --build-image "$build_image" --run-image "$run_image" \
	--lifecycle "file://$lc_tgz" >&2
say "ready: builder $builder (build image $build_image, run image $run_image)"
