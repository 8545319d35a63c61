#!/usr/bin/env bash
# Creates the Secrets the base references, with random values, in the dev
# namespace. Run once before `kubectl apply -k deploy/overlays/dev`; running it
# again keeps existing Secrets. Prints the CRM's API key (tenant "demo") once.
# Production gets the same Secrets from its secret manager instead
# (External Secrets, Sealed Secrets, Vault): never from this script.
set -euo pipefail
NS="${NAMESPACE:-quoteflow-dev}"
PY="${PYTHON:-python3}"

kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"

exists() { kubectl -n "$NS" get secret "$1" >/dev/null 2>&1; }
hex() { openssl rand -hex 24; }

for svc in quotes portal signature notifier; do
  name="quoteflow-pg-$svc"
  exists "$name" || kubectl -n "$NS" create secret generic "$name" \
    --type=kubernetes.io/basic-auth \
    --from-literal=username="$svc" --from-literal=password="$(hex)"
done

if ! exists quoteflow-keys; then
  crm_key="qf_$(hex)"
  digest="$(printf '%s' "$crm_key" | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  kubectl -n "$NS" create secret generic quoteflow-keys \
    --from-literal=api-keys="demo:$digest" \
    --from-literal=service-key="qf_$(hex)" \
    --from-literal=code-seal-key="$(hex)" \
    --from-literal=portal-secret-key="$(openssl rand -base64 48 | tr -d '\n')"
  echo "API key for the CRM (tenant demo), shown once: $crm_key"
fi

