#!/usr/bin/env bash
# Deploys the default `dev` stack on the local Docker socket with a local file backend: no Pulumi
# Cloud account. State goes to ~/.upshift/state; the stack's passphrase to ~/.upshift/passphrase
# (created once, mode 600) unless PULUMI_CONFIG_PASSPHRASE(_FILE) is set. A DB password is
# generated once and stored as a Pulumi secret.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Pulumi CLI on PATH, or the pinned one built from Go modules on first use (scripts/pulumi.sh).
pulumi() { bash scripts/pulumi.sh "$@"; }
home=${UPSHIFT_HOME:-$HOME/.upshift}
mkdir -p "$home/state"
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$home/state}
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  [ -f "$home/passphrase" ] || (umask 077 && head -c 32 /dev/urandom | base64 > "$home/passphrase")
  export PULUMI_CONFIG_PASSPHRASE_FILE="$home/passphrase"
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
pulumi stack select dev 2>/dev/null || pulumi stack init dev
if ! pulumi config get cvat:dbPassword >/dev/null 2>&1; then
  head -c 24 /dev/urandom | base64 | tr -d '/+=' | pulumi config set --secret cvat:dbPassword
fi
pulumi up --stack dev "$@"
