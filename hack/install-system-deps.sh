#!/usr/bin/env bash
# Debian packages the test suite needs beyond Go and Node: htpasswd (private
# registry tests), debootstrap (real Debian rootfs for test images), rpm (a real
# rpm SQLite database), prometheus (a real Prometheus that scrapes the operator
# in e2e, and promtool to check and unit-test the alert rules), and the reference
# implementations the version-order conformance tests compare against, and h2load
# (nghttp2-client: the native HTTP/2 load generator of bench/admission). Installs
# only what is missing.
set -euo pipefail
declare -A wanted=([h2load]=nghttp2-client [htpasswd]=apache2-utils [debootstrap]=debootstrap [rpm]=rpm [rpmbuild]=rpm [prometheus]=prometheus [promtool]=prometheus)
# Reference version orders for the vuln conformance tests: libdpkg (dpkg's own
# comparator, batched), Python's packaging, java + mvn for maven-artifact.
wanted+=([gcc]=gcc [java]=default-jdk-headless [mvn]=maven)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
pkg-config --exists libdpkg 2>/dev/null || missing+=(libdpkg-dev pkg-config)
python3 -c 'import packaging' 2>/dev/null || missing+=(python3-packaging)
if [ ${#missing[@]} -gt 0 ]; then
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing packages: $packages (run as root, or install them)" >&2
  exit 1
fi
echo "install-system-deps: installing $packages" >&2
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi
# Debian's package lists are the dpkg conformance test's version strings.
if ! compgen -G '/var/lib/apt/lists/*Packages*' >/dev/null && [ "$(id -u)" -eq 0 ]; then apt-get update -qq; fi
"$(dirname "$0")/fetch-maven-artifact.sh" >/dev/null
