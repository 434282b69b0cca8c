#!/usr/bin/env bash
# Stops the dockerd that docker-up.sh started (not one that was running before).
set -u
PIDFILE=/run/upshift-docker/dockerd.pid
[ -f "$PIDFILE" ] || exit 0
pid=$(cat "$PIDFILE"); kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.5; done
kill -9 "$pid" 2>/dev/null; exit 0
