#!/usr/bin/env bash
# Builds the local test images (no registry can be reached here) with debootstrap from Debian's
# packages, once: an image is rebuilt only when it is missing or this recipe changed.
#   upshift-test/postgres:15  bookworm + postgresql-15  (plays the old major)
#   upshift-test/postgres:17  trixie   + postgresql-17  (plays the new major)
#   upshift-test/tools:latest bookworm + tar, zstd      (the helper image for tar streams)
#   upshift-test/pg-upgrade:15-to-17 (pg_upgrade helper: build-upgrade-image.sh; its lines here end in the marker that keeps them out of the recipe of the others) # upgrade-image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(cat "$0" "$here/pg-entrypoint.sh" | sha256sum | cut -c1-12)
recipe=$(grep -v '# upgrade-image$' "$0" | cat - "$here/pg-entrypoint.sh" | sha256sum | cut -c1-12) # upgrade-image
# The mirror comes from this machine's apt sources; it is never written into the repo.
mirror=${UPSHIFT_DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$mirror" ] || { echo "build-images: no Debian mirror found in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }

build() { # name suite packages entrypoint(yes|no) pgmajor
  local name=$1 suite=$2 pkgs=$3 pg=$4
  if [ "$(docker image inspect -f '{{index .Config.Labels "upshift.recipe"}}' "$name" 2>/dev/null)" = "$recipe" ]; then
    echo "build-images: $name cached"; return 0
  fi
  local root; root=$(mktemp -d /var/tmp/upshift-rootfs.XXXXXX)
  echo "build-images: debootstrap $suite for $name"
  debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -rf "$root"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  local changes=(--change "LABEL upshift.recipe=$recipe")
  if [ -n "$pg" ]; then
    install -m 0755 "$here/pg-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
    changes+=(--change "ENV PATH=/usr/lib/postgresql/$pg/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
              --change "ENV PGDATA=/var/lib/postgresql/data" --change "ENV PG_MAJOR=$pg"
              --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["postgres"]'
              --change "EXPOSE 5432")
  else
    changes+=(--change 'CMD ["/bin/sh"]')
  fi
  tar -C "$root" -c . | docker import "${changes[@]}" - "$name" >/dev/null
  rm -rf "$root" "$root.log"
  echo "build-images: built $name"
}

build upshift-test/tools:latest bookworm zstd,xz-utils "" &
build upshift-test/postgres:15 bookworm postgresql-15 15 &
wait
build upshift-test/postgres:17 trixie postgresql-17 17
bash "$here/build-upgrade-image.sh" # upgrade-image
docker image ls --filter reference='upshift-test/*'
