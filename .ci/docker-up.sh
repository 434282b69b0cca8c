#!/usr/bin/env bash
# Starts a private dockerd for tests (own data-root, exec-root and socket) unless one answers
# already. Prints the DOCKER_HOST to use. The data-root persists on this machine so built
# test images are cached between runs; on a new machine they are rebuilt.
set -euo pipefail
ROOT=${UPSHIFT_DOCKER_ROOT:-/var/lib/upshift-docker}
SOCK=${UPSHIFT_DOCKER_SOCK:-/run/upshift-docker/docker.sock}
export DOCKER_HOST="unix://$SOCK"
if docker version >/dev/null 2>&1; then echo "$DOCKER_HOST"; exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-up: dockerd not installed (apt-get install docker.io)" >&2; exit 1
fi
mkdir -p "$ROOT" "$(dirname "$SOCK")" /run/upshift-docker-exec
nohup dockerd --data-root "$ROOT" --exec-root /run/upshift-docker-exec \
  -H "$DOCKER_HOST" --pidfile /run/upshift-docker/dockerd.pid \
  >/run/upshift-docker/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker version >/dev/null 2>&1; then echo "$DOCKER_HOST"; exit 0; fi
  sleep 0.5
done
echo "docker-up: dockerd did not answer within 30 s; its log:" >&2
tail -n 30 /run/upshift-docker/dockerd.log >&2
exit 1
