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

  kubectl apply -k crds/ >/dev/null
  kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
  kubectl create namespace shipshape-system >/dev/null

  $node dist/src/cli/main.js operator --kubeconfig "$KUBECONFIG" \
    --namespace shipshape-system \
    --metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
    >"$state/operator.log" 2>&1 &
  echo $! > "$state/operator.pid"
  for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:18081/readyz >/dev/null && break
    sleep 0.2
  done
  curl -sf http://127.0.0.1:18081/readyz >/dev/null || { echo "operator did not become ready; see $state/operator.log" >&2; exit 1; }

  kubectl apply -k config/samples >/dev/null
  kubectl apply -f config/demo/ >/dev/null
  for _ in $(seq 1 60); do
    [ "$(kubectl get securityreports -n shop --no-headers 2>/dev/null | wc -l)" -ge 3 ] && break
    sleep 0.5
  done
  sleep 3

  echo "== nodes (kwok) and pods"
  kubectl get nodes
  kubectl get pods -n shop -o wide
  echo; echo "== policies"
  kubectl get securitypolicies,clustersecuritypolicies -A
  echo; echo "== security reports"
  kubectl get securityreports -A
  echo; echo "== findings of shop/deployment-storefront"
  kubectl get securityreport deployment-storefront -n shop \
    -o jsonpath='{range .status.findings[*]}{.policy}{"\t"}{.severity}{"\t"}{.ruleId}{"\t"}{.message}{"\n"}{end}'
  echo; echo "== events"
  kubectl get events.events.k8s.io -n shop --field-selector reason=PolicyViolation \
    -o custom-columns=TYPE:.type,REASON:.reason,OBJECT:.regarding.name,NOTE:.note
  echo "== operator metrics (shipshape_*)"
  curl -s http://127.0.0.1:18080/metrics | grep -E '^shipshape_(violations|workloads)\{' | grep -v ' 0$' | head -20 || true
  echo
  echo "export KUBECONFIG=$KUBECONFIG   # to explore; 'make demo-down' stops everything"
  echo "operator log: $state/operator.log"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
