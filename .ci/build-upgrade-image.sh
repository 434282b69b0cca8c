#!/usr/bin/env bash
# Builds upshift-test/pg-upgrade:15-to-17, the tests' pg_upgrade helper (no registry can be
# reached here): Postgres 15 and 17 binaries in one root, from Debian's packages, laid out as
# tianon/postgres-upgrade lays them out (/usr/lib/postgresql/<major>/bin). The root is trixie with
# postgresql-17 (the C library of upshift-test/postgres:17, the new major's image); the 15 tree is
# bookworm's postgresql-15 package, taken from upshift-test/postgres:15, with the shared libraries
# it needs that trixie lacks (by ldd in the root; LLVM JIT left out: pg_upgrade does not use it).
# Run by build-images.sh after the postgres images; rebuilt only when this recipe changes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=upshift-test/pg-upgrade:15-to-17
recipe=$(cat "$0" | sha256sum | cut -c1-12)
mirror=${UPSHIFT_DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$mirror" ] || { echo "build-upgrade-image: no Debian mirror found in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }
if [ "$(docker image inspect -f '{{index .Config.Labels "upshift.recipe"}}' "$name" 2>/dev/null)" = "$recipe" ]; then
  echo "build-images: $name cached"; exit 0
fi
root=$(mktemp -d /var/tmp/upshift-rootfs.XXXXXX)
old=$(mktemp -d /var/tmp/upshift-rootfs-old.XXXXXX)
trap 'rm -rf "$root" "$old" "$root.log"' EXIT
echo "build-images: debootstrap trixie for $name"
debootstrap --variant=minbase --include=postgresql-17 trixie "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
cid=$(docker create upshift-test/postgres:15 true)
docker export "$cid" | tar -x -C "$old" usr/lib/postgresql/15 usr/share/postgresql/15 usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu 2>/dev/null || true
docker rm "$cid" >/dev/null
[ -x "$old/usr/lib/postgresql/15/bin/pg_ctl" ] || { echo "build-upgrade-image: no postgresql-15 in upshift-test/postgres:15" >&2; exit 1; }
cp -a "$old/usr/lib/postgresql/15" "$root/usr/lib/postgresql/15"
cp -a "$old/usr/share/postgresql/15" "$root/usr/share/postgresql/15"
rm -rf "$root"/usr/lib/postgresql/15/lib/llvmjit* "$root"/usr/lib/postgresql/15/lib/bitcode
for _ in 1 2 3 4 5; do
  missing=$(for f in "$root"/usr/lib/postgresql/15/bin/* "$root"/usr/lib/postgresql/15/lib/*.so; do
      { chroot "$root" ldd "${f#"$root"}" 2>/dev/null || true; } | awk '/not found/ {print $1}'
    done | sort -u)
  [ -n "$missing" ] || break
  for lib in $missing; do
    src=""
    for d in "$old"/usr/lib/x86_64-linux-gnu "$old"/lib/x86_64-linux-gnu; do
      if [ -e "$d/$lib" ]; then src=$d/$lib; break; fi
    done
    [ -n "$src" ] || { echo "build-upgrade-image: $lib (needed by postgresql-15) not in bookworm's root" >&2; exit 1; }
    cp -L "$src" "$root/usr/lib/x86_64-linux-gnu/$lib"
  done
done
chroot "$root" /usr/lib/postgresql/15/bin/postgres -V >/dev/null
chroot "$root" /usr/lib/postgresql/17/bin/pg_upgrade -V >/dev/null
tar -C "$root" -c . | docker import --change "LABEL upshift.recipe=$recipe" \
  --change "ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'CMD ["/bin/sh"]' - "$name" >/dev/null
echo "build-images: built $name"
