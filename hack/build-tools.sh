#!/usr/bin/env bash
# Builds the pinned third-party tools (control plane, kwok, registry, crane)
# from the Go module proxy into a cache outside the repository, keyed by the
# hash of each tool's go.mod/go.sum, so each version is built once per machine.
# Usage: hack/build-tools.sh [tool...]   (default: every tool under hack/tools)
# Prints nothing but progress; binaries are linked into $SHIPSHAPE_BIN.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SHIPSHAPE_CACHE:-$HOME/.cache/shipshape}
bin=${SHIPSHAPE_BIN:-$cache/bin}
mkdir -p "$bin" "$cache/tools"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=($(ls "$here/tools"))

for tool in "${tools[@]}"; do
  dir="$here/tools/$tool"
  [ -f "$dir/go.mod" ] || { echo "build-tools: no module at $dir" >&2; exit 2; }
  # build.env (optional): extra VAR=value lines for the go command, e.g. a GOEXPERIMENT a tool needs.
  # A tool may be a local main package (build.conf package "."): its own .go files are part of the key.
  key=$(cat "$dir/go.mod" "$dir/go.sum" "$dir/build.conf" $( [ -f "$dir/build.env" ] && echo "$dir/build.env") $(find "$dir" -maxdepth 1 -name '*.go' | sort) | sha256sum | cut -c1-12)
  out="$cache/tools/$tool-$key"
  # build.conf lines: <binary name> <package> [ldflags...]
  if [ ! -f "$out/.complete" ]; then
    echo "build-tools: building $tool ($key) into $out" >&2
    rm -rf "$out"; mkdir -p "$out"
    start=$(date +%s)
    while read -r name pkg ldflags; do
      [ -n "$name" ] && [ "${name:0:1}" != "#" ] || continue
      (cd "$dir" && { [ ! -f build.env ] || export $(grep -v '^#' build.env); } && go build -trimpath -ldflags "-s -w ${ldflags:-}" -o "$out/$name" "$pkg")
    done < "$dir/build.conf"
    touch "$out/.complete"
    echo "build-tools: $tool built in $(( $(date +%s) - start ))s" >&2
  fi
  while read -r name _; do
    [ -n "$name" ] && [ "${name:0:1}" != "#" ] || continue
    ln -sfn "$out/$name" "$bin/$name"
  done < "$dir/build.conf"
done
