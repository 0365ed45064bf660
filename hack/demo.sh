#!/usr/bin/env bash
# The demo: a local cluster (real control plane + kwok nodes + registry), the
# CRDs, the operator, sample policies and workloads, then the reports.
#   hack/demo.sh up     bring everything up and print the reports
#   hack/demo.sh down   stop the operator and the cluster
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${SHIPSHAPE_CACHE:-$HOME/.cache/shipshape}
state=$cache/demo
mkdir -p "$state"
node=node_modules/.bin/node

down() {
  if [ -f "$state/operator.pid" ]; then
    kill "$(cat "$state/operator.pid")" 2>/dev/null || true
    rm -f "$state/operator.pid"
  fi
  $node dist/test/cluster/cli.js down
}

up() {
  hack/build-tools.sh
  [ -d dist ] || npm run build
  down >/dev/null 2>&1 || true
  eval "$($node dist/test/cluster/cli.js up)"
  echo "KUBECONFIG=$KUBECONFIG" > "$state/env"

  if [ -f crds/kustomization.yaml ]; then
    kubectl apply -k crds/ >/dev/null
    kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
  fi

  $node dist/src/cli/main.js operator --kubeconfig "$KUBECONFIG" \
    --metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
    >"$state/operator.log" 2>&1 &
  echo $! > "$state/operator.pid"
  for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:18081/readyz >/dev/null && break
    sleep 0.2
  done
  curl -sf http://127.0.0.1:18081/readyz >/dev/null || { echo "operator did not become ready; see $state/operator.log" >&2; exit 1; }

  [ -d config/samples ] && kubectl apply -f config/samples/ >/dev/null
  [ -d config/samples/workloads ] && kubectl apply -f config/samples/workloads/ >/dev/null

  echo "== nodes and pods"
  kubectl get nodes
  kubectl get pods -A -o wide 2>/dev/null | head -20
  if kubectl get crd securityreports.shipshape.dev >/dev/null 2>&1; then
    sleep 5
    echo "== policies";  kubectl get securitypolicies,clustersecuritypolicies -A
    echo "== reports";   kubectl get securityreports -A
    echo "== images";    kubectl get imagereports
  fi
  echo "== operator metrics (shipshape_*)"
  curl -s http://127.0.0.1:18080/metrics | grep '^shipshape_' | grep -v '^shipshape_process\|^shipshape_nodejs' | head -20 || true
  echo
  echo "export KUBECONFIG=$KUBECONFIG   # to explore; 'make demo-down' stops everything"
  echo "operator log: $state/operator.log"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
