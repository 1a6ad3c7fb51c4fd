#!/usr/bin/env bash
# The operator's check of a built or pulled tronpay image on a real Docker host:
#
#   scripts/verify-distroless.sh [IMAGE]     # default pickme/lucid-tron-payment-service:1.0.0
#
# image present, no shell, UID 65532, the OCI and security labels, it starts with only the
# secrets it needs (a throw-away HS256 secret made here) and /health answers. Prints one
# line per check and exits non-zero when any fails. It needs docker and python3 on the host
# (no curl). scripts/verify-image goes further (a payout, read-only root, image layers, arm64)
# on machines without a registry.
set -euo pipefail

IMAGE="${1:-pickme/lucid-tron-payment-service:1.0.0}"
PORT="${VERIFY_PORT:-18090}"
# VERIFY_NETWORK=host: an engine without a bridge network (scripts/verify-image runs it so)
if [ "${VERIFY_NETWORK:-}" = host ]; then
  network=(--network host -e "TRONPAY_PORT=$PORT")
else
  network=(-p "127.0.0.1:$PORT:8090")
fi
failures=0
container=""
secrets_dir=""

pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failures=$((failures + 1)); }

cleanup() {
  if [ -n "$container" ]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  if [ -n "$secrets_dir" ]; then rm -rf "$secrets_dir"; fi
}
trap cleanup EXIT

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  fail "image present: $IMAGE not found (docker pull or docker build it first)"
  exit 1
fi
pass "image present: $IMAGE"

# No shell: every candidate must fail to start, whatever the entrypoint.
shells_found=""
for shell in /bin/sh /bin/bash /bin/dash /bin/busybox /usr/bin/sh /usr/bin/bash sh bash; do
  if docker run --rm --entrypoint "$shell" "$IMAGE" -c true >/dev/null 2>&1; then
    shells_found="$shells_found $shell"
  fi
done
if [ -z "$shells_found" ]; then pass "no shell"; else fail "no shell: found$shells_found"; fi

user="$(docker image inspect -f '{{.Config.User}}' "$IMAGE")"
if [ "$user" = "65532:65532" ] || [ "$user" = "65532" ]; then
  pass "user 65532 ($user)"
else
  fail "user 65532: image user is '${user:-root}'"
fi

labels_ok=1
for label in org.opencontainers.image.title org.opencontainers.image.version \
  org.opencontainers.image.revision org.opencontainers.image.source \
  security.distroless security.nonroot security.readonly security.plane security.isolation; do
  value="$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$IMAGE")"
  if [ -z "$value" ] || [ "$value" = "<no value>" ]; then
    fail "label $label missing"
    labels_ok=0
  fi
done
if [ "$labels_ok" = 1 ]; then pass "labels (OCI and security)"; fi

# Start it as production would, with a throw-away secret, and ask /health.
secrets_dir="$(mktemp -d)"
python3 -c 'import secrets; print(secrets.token_hex(32), end="")' >"$secrets_dir/jwt.secret"
chmod 0400 "$secrets_dir/jwt.secret"
chmod 0700 "$secrets_dir"
if [ "$(id -u)" = 0 ]; then chown -R 65532:65532 "$secrets_dir"; fi
container="$(docker run -d --read-only --cap-drop ALL --security-opt no-new-privileges \
  --tmpfs /app/tmp:rw,noexec,nosuid,size=16m,uid=65532,gid=65532 \
  -v "$secrets_dir:/app/secrets:ro" "${network[@]}" \
  -e TRONPAY_NETWORK=nile -e TRONPAY_JWT_HS256_SECRET_FILE=/app/secrets/jwt.secret \
  -e TRONPAY_JWT_AUDIENCE=verify -e TRONPAY_JWT_ISSUER=verify \
  -e TRONPAY_DATABASE_URL=sqlite+aiosqlite:////app/tmp/verify.db \
  "$IMAGE" serve --no-engine)"
health=""
for _ in $(seq 1 60); do
  if health="$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$PORT/health', timeout=2).read().decode())" 2>/dev/null)"; then
    break
  fi
  health=""
  if [ "$(docker inspect -f '{{.State.Running}}' "$container")" != true ]; then break; fi
  sleep 1
done
if [ -n "$health" ]; then
  pass "starts with its secrets; /health: $health"
else
  fail "starts with its secrets: no /health answer; last log lines:"
  docker logs --tail 20 "$container" 2>&1 | sed 's/^/      /'
fi

if [ "$failures" -gt 0 ]; then
  printf '%d check(s) failed\n' "$failures"
  exit 1
fi
printf 'all checks passed\n'
