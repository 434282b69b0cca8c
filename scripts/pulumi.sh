#!/usr/bin/env bash
# `npm run pulumi -- <args>`: runs the Pulumi CLI. A `pulumi` already on PATH wins. Otherwise the
# CLI and its Node.js language host are built from Go modules pinned in tools/ (no download from
# Pulumi's site) into a cache outside the checkout, once per pinned version, and run from there.
#
#   UPSHIFT_TOOLS_CACHE   where built tools go (default ~/.cache/upshift)
#   UPSHIFT_PULUMI_BUILD  1 = ignore a pulumi on PATH and use the pinned build (the tests set it)
#   --print-bin-dir       print the directory holding pulumi and pulumi-language-nodejs, then exit
#
# Provider plugins (docker, command, aws) are not built here: the CLI installs them itself where it
# can reach Pulumi's plugin downloads (README, "Prerequisites").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
install_page="https://www.pulumi.com/docs/install/"

print_dir=0
if [ "${1:-}" = "--print-bin-dir" ]; then print_dir=1; shift; fi

if [ "${UPSHIFT_PULUMI_BUILD:-0}" != 1 ] && command -v pulumi >/dev/null 2>&1; then
  if [ $print_dir = 1 ]; then dirname "$(command -v pulumi)"; exit 0; fi
  exec pulumi "$@"
fi

# The version a tools module requires of MODULE (a `require M v` line or a line of a require block).
pinned() { awk -v m="$1" '($1 == "require" && $2 == m) { print $3; exit } ($1 == m) { print $2; exit }' "$2"; }
cli_version=$(pinned github.com/pulumi/pulumi/pkg/v3 "$here/tools/pulumi/go.mod")
host_version=$(pinned github.com/pulumi/pulumi/sdk/v3 "$here/tools/pulumi-language-nodejs/go.mod")
if [ -z "$cli_version" ] || [ -z "$host_version" ]; then
  echo "pulumi.sh: cannot read the pinned versions from tools/*/go.mod" >&2; exit 1
fi
# The cache key covers the pins, so a changed go.mod or go.sum builds afresh.
key=$(cat "$here"/tools/pulumi/go.{mod,sum} "$here"/tools/pulumi-language-nodejs/go.{mod,sum} | sha256sum | cut -c1-12)
bin="${UPSHIFT_TOOLS_CACHE:-$HOME/.cache/upshift}/pulumi-$cli_version-$key"

if [ ! -x "$bin/pulumi" ] || [ ! -x "$bin/pulumi-language-nodejs" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "The Pulumi CLI is needed and neither it nor Go is installed: install the CLI from $install_page" >&2
    exit 127
  fi
  mkdir -p "$(dirname "$bin")"
  # One build at a time (parallel test runs share the cache).
  exec 9>"$bin.lock"
  flock 9
  if [ ! -x "$bin/pulumi" ] || [ ! -x "$bin/pulumi-language-nodejs" ]; then
    echo "pulumi.sh: building the Pulumi CLI $cli_version and language host $host_version from Go modules (first use only; about 4 min cold on 2 cores)" >&2
    start=$(date +%s)
    tmp="$bin.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    (cd "$here/tools/pulumi" && go build -trimpath -o "$tmp/pulumi" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    (cd "$here/tools/pulumi-language-nodejs" && go build -trimpath -o "$tmp/pulumi-language-nodejs" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$host_version" \
      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
    rm -rf "$bin" && mv "$tmp" "$bin"
    echo "pulumi.sh: built in $(( $(date +%s) - start )) s into $bin" >&2
  fi
  exec 9>&-
fi

if [ $print_dir = 1 ]; then echo "$bin"; exit 0; fi
# The CLI finds the language host next to itself (on PATH too, for the plugins it starts).
export PATH="$bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=${PULUMI_SKIP_UPDATE_CHECK:-true}
exec "$bin/pulumi" "$@"
