#!/bin/bash
# Stand-in for CVAT's app images (server, workers, ui, opa, redis, traefik) in the e2e suite: the
# vendor's images cannot be pulled here. As the entrypoint it records its arguments and runs until
# stopped. As `python3`/`python` it answers the two things the catalog runs in a CVAT container:
# `manage.py health_check` (the server's healthcheck: passes only when cvat_db accepts TCP
# connections, like CVAT's own check needs the DB) and `manage.py <command>` (a step's manage.py
# call: recorded and succeeds). Every call is written to PID 1's stdout, so `docker logs` holds it.
set -u
record() { printf 'standin: %s\n' "$*" > /proc/1/fd/1 2>/dev/null || true; }

case "$(basename "$0")" in
  python3|python)
    if [ "${1:-}" = manage.py ] && [ "${2:-}" = health_check ]; then
      # No record: the healthcheck runs every few seconds and would drown the log.
      exec 3<>"/dev/tcp/${CVAT_POSTGRES_HOST:-cvat_db}/5432" || exit 1
      exit 0
    fi
    record "python3 $*"
    [ "${1:-}" = manage.py ] || { echo "stand-in python3: only manage.py is answered" >&2; exit 2; }
    exit 0
    ;;
esac

record "start ${UPSHIFT_STANDIN_SERVICE:-app} $*"
trap 'record "stop"; exit 0' TERM INT
sleep infinity &
wait
