#!/bin/bash
# Stand-in for the vendors' app images in the e2e suite (CVAT's server, workers, ui, opa, redis,
# traefik; ClearML's apiserver, fileserver, webserver, mongo, elasticsearch, redis; KWDB's
# kaiwudb-container): no image can be pulled here. As the entrypoint (or `kwbase start...`,
# `python3 -m ...`) it records its arguments and runs until stopped. Under the names the catalogs'
# health checks and steps call, it answers:
#   python3 manage.py health_check   CVAT's server check: passes only when cvat_db accepts TCP
#   python3 manage.py <command>      a step's manage.py call: recorded, succeeds
#   python3 -c ..., mongo, mongosh, curl, redis-cli, kwbase <other>: health probes, succeed
# Every recorded call goes to PID 1's stdout, so `docker logs` holds it.
set -u
record() { printf 'standin: %s\n' "$*" > /proc/1/fd/1 2>/dev/null || true; }
serve() {
  record "start ${UPSHIFT_STANDIN_SERVICE:-app} $*"
  trap 'record "stop"; exit 0' TERM INT
  sleep infinity &
  wait
}

case "$(basename "$0")" in
  python3|python)
    case "${1:-}" in
      manage.py)
        if [ "${2:-}" = health_check ]; then
          exec 3<>"/dev/tcp/${CVAT_POSTGRES_HOST:-cvat_db}/5432" || exit 1
          exit 0
        fi
        record "python3 $*"; exit 0 ;;
      -c) exit 0 ;;
      -m) serve "python3 $*" ;;
      *) echo "stand-in python3: $* is not answered" >&2; exit 2 ;;
    esac ;;
  kwbase)
    case "${1:-}" in start*) serve "kwbase $*" ;; *) exit 0 ;; esac ;;
  mongo|mongosh|curl|redis-cli) exit 0 ;;
esac
serve "$@"
