#!/usr/bin/env bash
# Builds a real Debian root filesystem (debootstrap --variant=minbase) as a
# tarball, so e2e test images carry a genuine dpkg database instead of a
# hand-written one. Built once per machine into the cache; prints its path.
# The mirror and suite are taken from this machine's apt sources at run time
# (the first Debian "Packages" index apt knows), never written down here.
# Usage: hack/build-rootfs.sh            (env: SUITE to override, SHIPSHAPE_CACHE)
# Needs root (debootstrap, numeric owners) and installs debootstrap if missing.
set -euo pipefail
cache=${SHIPSHAPE_CACHE:-$HOME/.cache/shipshape}
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

# apt prints one line per index target; the Debian main suite is the one whose
# release has no "-updates"/"-security" suffix.
debian_targets() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(ORIGIN) $(IDENTIFIER)' 2>/dev/null |
    awk '$3 == "Debian" && $4 == "Packages" && $2 !~ /-/ { print $1, $2 }' | sort -u
}

targets=$(debian_targets)
if [ -z "$targets" ]; then
  apt-get update -qq >&2
  targets=$(debian_targets)
fi
[ -n "$targets" ] || { echo "build-rootfs: no Debian package source in the apt sources" >&2; exit 2; }
mirror=$(echo "$targets" | head -n1 | cut -d' ' -f1)
suite=${SUITE:-$(echo "$targets" | head -n1 | cut -d' ' -f2)}

out="$cache/rootfs/$suite-minbase.tar"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi

command -v debootstrap >/dev/null || {
  apt-get update -qq >&2
  apt-get install -y -qq debootstrap >&2
}

mkdir -p "$cache/rootfs"
work=$(mktemp -d "$cache/rootfs/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
start=$(date +%s)
echo "build-rootfs: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# What a container image leaves out: device nodes and kernel mounts (the runtime
# provides them), downloaded .debs and apt's binary caches.
rm -rf "$root"/dev/* "$root"/proc/* "$root"/sys/* "$root"/run/* "$root"/tmp/*
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/log/bootstrap.log
rm -rf "$root"/var/lib/apt/lists/*

# Paths without a "./" prefix, sorted, numeric owners, PAX headers only where a
# name or number needs one: the shape of a registry layer.
(cd "$root" && tar --numeric-owner --sort=name --format=pax --pax-option=delete=atime,delete=ctime,delete=mtime -cf "$work/rootfs.tar" -- *)
mv "$work/rootfs.tar" "$out"
echo "build-rootfs: $suite minbase built in $(($(date +%s) - start))s, $(du -h "$out" | cut -f1)" >&2
echo "$out"
