#!/usr/bin/env bash
# Debian packages the test suite needs beyond Go and Node: htpasswd (private
# registry tests), debootstrap (real Debian rootfs for test images), rpm (a real
# rpm SQLite database), prometheus (a real Prometheus that scrapes the operator
# in e2e, and promtool to check and unit-test the alert rules). Installs only
# what is missing.
set -euo pipefail
declare -A wanted=([htpasswd]=apache2-utils [debootstrap]=debootstrap [rpm]=rpm [rpmbuild]=rpm [prometheus]=prometheus [promtool]=prometheus)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing packages: $packages (run as root, or install them)" >&2
  exit 1
fi
echo "install-system-deps: installing $packages" >&2
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
