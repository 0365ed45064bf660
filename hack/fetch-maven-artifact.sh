#!/usr/bin/env bash
# Fetches one Maven artifact (default: maven-artifact, the reference Maven
# version order the conformance tests compare against) into the cache's local
# repository with `mvn dependency:get`, and prints the jar's path. Cached: a
# second run does no network I/O.
# Usage: hack/fetch-maven-artifact.sh [group:artifact:version]
set -euo pipefail
coords="${1:-org.apache.maven:maven-artifact:3.9.9}"
repo="${SHIPSHAPE_CACHE:-$HOME/.cache/shipshape}/m2"
IFS=: read -r group artifact version <<<"$coords"
jar="$repo/${group//.//}/$artifact/$version/$artifact-$version.jar"
if [ ! -f "$jar" ]; then
  command -v mvn >/dev/null 2>&1 || { echo "fetch-maven-artifact: mvn is missing (hack/install-system-deps.sh installs it)" >&2; exit 1; }
  mvn -q -B dependency:get -Dartifact="$coords" -Dtransitive=false -Dmaven.repo.local="$repo" >&2
fi
echo "$jar"
