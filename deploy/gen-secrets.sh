#!/usr/bin/env bash
# Generates the secrets the example configurations reference, so that
# deploy/config/sharedrift.yaml and the Compose file start as shipped:
#   deploy/gen-secrets.sh [DIR] [TENANT...]     (default: deploy/secrets contoso)
# In DIR (mode 0700) it writes, each mode 0600:
#   read-token, admin-token   random API bearer tokens (http.tokens)
#   TENANT.pem                a new private key and its self-signed certificate,
#                             for credentials.certificate (method: certificate)
#   TENANT.cer                the certificate alone: upload it to the app
#                             registration (Entra admin center > App registrations >
#                             Certificates & secrets > Certificates)
# and, next to DIR, .env with a random POSTGRES_PASSWORD and empty Slack
# variables to fill in. Existing files are kept, never overwritten.
set -euo pipefail

dir=${1:-"$(dirname "${BASH_SOURCE[0]}")/secrets"}
shift || true
tenants=("$@")
[[ ${#tenants[@]} -gt 0 ]] || tenants=(contoso)
command -v openssl >/dev/null || { echo "gen-secrets: openssl is needed" >&2; exit 1; }

umask 077
mkdir -p "$dir"
chmod 700 "$dir"

new() { # new FILE: true when FILE does not exist yet (and says so)
  if [[ -e $1 ]]; then
    echo "kept      $1"
    return 1
  fi
  echo "generated $1"
}

for t in read-token admin-token; do
  if new "$dir/$t"; then openssl rand -hex 32 >"$dir/$t"; fi
done

for t in "${tenants[@]}"; do
  if new "$dir/$t.pem"; then
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 -subj "/CN=sharedrift $t" \
      -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    cat "$tmp/key.pem" "$tmp/cert.pem" >"$dir/$t.pem"
    cp "$tmp/cert.pem" "$dir/$t.cer"
    rm -rf "$tmp"
    echo "          upload $dir/$t.cer to tenant $t's app registration; thumbprint:"
    openssl x509 -in "$dir/$t.cer" -noout -fingerprint -sha1 | sed 's/^/          /'
  fi
done

env="$(dirname "$dir")/.env"
if new "$env"; then
  {
    echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
    echo "SLACK_BOT_TOKEN="
    echo "SLACK_SIGNING_SECRET="
  } >"$env"
fi
