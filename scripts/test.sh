#!/usr/bin/env bash
# The project's one test command: format check, go vet, golangci-lint, then
# the whole go test suite against a throwaway PostgreSQL server and headless
# Chromium. Extra arguments go to `go test` (e.g. -run Scan -v); package
# patterns among them (./store/...) replace ./...
#
# Environment:
#   SHAREDRIFT_TEST_POSTGRES_DSN  use this database instead of starting one
#   SHAREDRIFT_TEST_SKIP_LINT=1   skip gofmt, vet and golangci-lint
#   SHAREDRIFT_TEST_LINT_ONLY=1   run only gofmt, vet and golangci-lint
#   SHAREDRIFT_TOOLS_DIR          where pinned tools are installed
#                                 (default: $XDG_CACHE_HOME/sharedrift/tools)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned linter; bump deliberately and fix what the new version reports.
GOLANGCI_LINT_VERSION=v2.15.0
# Tools the deployment tests use when present (helm lint and template,
# actionlint on the release workflow); installed from the Go module proxy.
HELM_VERSION=v3.21.4
ACTIONLINT_VERSION=v1.7.12
TOOLS_DIR="${SHAREDRIFT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sharedrift/tools}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# as_root runs a command with root rights (apt-get), directly or via sudo.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "cannot install $* here: no apt-get; install it by hand"
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---- lint ----------------------------------------------------------------

ensure_golangci_lint() {
  local dir="$TOOLS_DIR/golangci-lint-$GOLANGCI_LINT_VERSION"
  GOLANGCI_LINT="$dir/golangci-lint"
  if [[ -x $GOLANGCI_LINT ]] && "$GOLANGCI_LINT" version 2>/dev/null | grep -q "version ${GOLANGCI_LINT_VERSION#v} "; then
    return
  fi
  log "installing golangci-lint $GOLANGCI_LINT_VERSION into $dir"
  mkdir -p "$dir" || return 1
  # GOFLAGS is cleared so a developer's -mod=vendor or similar does not
  # leak into building the tool.
  GOBIN="$dir" GOFLAGS= go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION" || return 1
  [[ -x $GOLANGCI_LINT ]]
}

# run_lint runs every check and fails if any failed. It is called where
# set -e does not apply, so each step's status is checked explicitly.
run_lint() {
  local status=0 unformatted
  log "gofmt"
  unformatted=$(gofmt -l .) || status=1
  if [[ -n $unformatted ]]; then
    printf 'gofmt: these files need formatting (run gofmt -w):\n%s\n' "$unformatted" >&2
    status=1
  fi
  log "go vet"
  go vet ./... || status=1
  if ensure_golangci_lint; then
    log "golangci-lint $GOLANGCI_LINT_VERSION"
    # Several checkouts may lint on one machine; do not fail on its lock.
    "$GOLANGCI_LINT" run --allow-parallel-runners ./... || status=1
  else
    printf 'test.sh: could not install golangci-lint %s\n' "$GOLANGCI_LINT_VERSION" >&2
    status=1
  fi
  return "$status"
}

# ---- PostgreSQL ----------------------------------------------------------

TMP_DIR=""
PG_BIN=""
PG_DATA=""
PG_USER_OS=""   # OS user that owns and runs the server

find_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $d && -x $d/initdb ]]; then
    printf '%s\n' "$d"
  elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
  fi
}

# as_pg runs a command as the OS user that owns the server. initdb and
# postgres refuse to run as root, so under root that is a system user.
as_pg() {
  if [[ -z $PG_USER_OS ]]; then
    "$@"
  elif command -v runuser >/dev/null; then
    runuser -u "$PG_USER_OS" -- "$@"
  else
    su -s /bin/sh "$PG_USER_OS" -c "$(printf '%q ' "$@")"
  fi
}

start_postgres() {
  PG_BIN=$(find_pg_bin)
  if [[ -z $PG_BIN ]]; then
    apt_install postgresql
    PG_BIN=$(find_pg_bin)
    [[ -n $PG_BIN ]] || die "postgresql installed but initdb not found"
  fi
  if [[ $(id -u) -eq 0 ]]; then
    PG_USER_OS=postgres
    if ! id "$PG_USER_OS" >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
    fi
    chown "$PG_USER_OS" "$TMP_DIR"
  fi
  PG_DATA="$TMP_DIR/data"
  local sock="$TMP_DIR" port=5432 dbuser=sharedrift dbname=sharedrift_test
  log "starting PostgreSQL ($("$PG_BIN/postgres" --version)) in $TMP_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$dbuser" --auth=trust -E UTF8 --no-locale --no-sync >"$TMP_DIR/initdb.log" 2>&1 \
    || { cat "$TMP_DIR/initdb.log" >&2; die "initdb failed"; }
  # Unix socket only (no TCP listener, so no port clashes); durability is
  # traded for speed because the cluster dies with the run.
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$TMP_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses='' -k $sock -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null; then
    cat "$TMP_DIR/postgres.log" >&2
    die "PostgreSQL did not start"
  fi
  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h "$sock" -p "$port" && break
    [[ $i -eq 60 ]] && die "PostgreSQL not ready after 30s"
    sleep 0.5
  done
  "$PG_BIN/createdb" -h "$sock" -p "$port" -U "$dbuser" "$dbname"
  export SHAREDRIFT_TEST_POSTGRES_DSN="host=$sock port=$port user=$dbuser dbname=$dbname sslmode=disable"
}

stop_postgres() {
  if [[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

# check_postgres proves the DSN works the way the tests will use it.
check_postgres() {
  local psql
  psql=$(command -v psql || true)
  [[ -n $psql ]] || psql="$PG_BIN/psql"
  local got
  got=$("$psql" "$SHAREDRIFT_TEST_POSTGRES_DSN" -X -qtAc 'select 40 + 2') \
    || die "cannot query PostgreSQL through SHAREDRIFT_TEST_POSTGRES_DSN=$SHAREDRIFT_TEST_POSTGRES_DSN"
  [[ $got == 42 ]] || die "PostgreSQL self-check returned '$got', want 42"
  log "PostgreSQL ready: SHAREDRIFT_TEST_POSTGRES_DSN=\"$SHAREDRIFT_TEST_POSTGRES_DSN\""
}

# ---- Chromium ------------------------------------------------------------

ensure_chromium() {
  local c
  c=$(command -v chromium || command -v chromium-browser || true)
  if [[ -z $c ]]; then
    apt_install chromium
    c=$(command -v chromium || true)
    [[ -n $c ]] || die "chromium installed but not on PATH"
  fi
  export SHAREDRIFT_TEST_CHROMIUM="$c"
  log "Chromium: $("$c" --version 2>/dev/null || echo "$c")"
}

# ---- deployment tools ----------------------------------------------------

# ensure_deploy_tools makes the deployment files checkable by the tools that
# consume them: helm (the chart renders and lints), actionlint (the release
# workflow), Compose (the compose files parse) and systemd-analyze (the unit
# verifies). It is best effort: a tool that cannot be installed here is
# reported, and its test says it was skipped.
ensure_deploy_tools() {
  local dir
  dir="$TOOLS_DIR/helm-$HELM_VERSION"
  if [[ ! -x $dir/helm ]]; then
    log "installing helm $HELM_VERSION into $dir (first run only)"
    mkdir -p "$dir" && GOBIN="$dir" GOFLAGS= go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
      || log "WARNING: could not install helm; the chart is checked with text/template only"
  fi
  [[ -x $dir/helm ]] && PATH="$dir:$PATH"
  dir="$TOOLS_DIR/actionlint-$ACTIONLINT_VERSION"
  if [[ ! -x $dir/actionlint ]]; then
    log "installing actionlint $ACTIONLINT_VERSION into $dir"
    mkdir -p "$dir" && GOBIN="$dir" GOFLAGS= go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
      || log "WARNING: could not install actionlint"
  fi
  [[ -x $dir/actionlint ]] && PATH="$dir:$PATH"
  local pkgs=()
  command -v docker-compose >/dev/null || pkgs+=(docker-compose)
  command -v systemd-analyze >/dev/null || pkgs+=(systemd)
  if [[ ${#pkgs[@]} -gt 0 ]] && command -v apt-get >/dev/null; then
    ( apt_install "${pkgs[@]}" ) || log "WARNING: could not install ${pkgs[*]}"
  fi
  export PATH
  log "deployment tools: $(for t in helm actionlint docker-compose systemd-analyze; do
    command -v "$t" >/dev/null && printf '%s ' "$t" || printf '(no %s) ' "$t"; done)"
}

# ---- main ----------------------------------------------------------------

cleanup() {
  local rc=$?
  stop_postgres
  if [[ -n $TMP_DIR ]]; then
    rm -rf "$TMP_DIR"
  fi
  exit "$rc"
}

main() {
  local start=$SECONDS lint_status=0
  log "$(go version)"
  if [[ ${SHAREDRIFT_TEST_SKIP_LINT:-} != 1 ]]; then
    # A lint failure fails the run, but the tests still run so that one
    # run reports both.
    run_lint || lint_status=$?
    if [[ $lint_status -ne 0 && ${SHAREDRIFT_TEST_LINT_ONLY:-} != 1 ]]; then
      log "lint FAILED (status $lint_status); running the tests anyway"
    fi
  fi
  if [[ ${SHAREDRIFT_TEST_LINT_ONLY:-} == 1 ]]; then
    log "lint finished in $((SECONDS - start))s, status $lint_status"
    return "$lint_status"
  fi

  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Short path: the server's unix socket path must stay under ~100 bytes.
  TMP_DIR=$(mktemp -d /tmp/sharedrift-test.XXXXXX)
  chmod 755 "$TMP_DIR"
  if [[ -n ${SHAREDRIFT_TEST_POSTGRES_DSN:-} ]]; then
    log "using the PostgreSQL given in SHAREDRIFT_TEST_POSTGRES_DSN"
    PG_BIN=$(find_pg_bin)
  else
    start_postgres
  fi
  check_postgres
  ensure_chromium
  ensure_deploy_tools

  # Package patterns among the arguments replace ./... (flags do not).
  local status=0 arg pkgs=(./...)
  for arg in "$@"; do
    if [[ $arg == ./* ]]; then pkgs=(); break; fi
  done
  log "go test ${pkgs[*]} -count=1 -timeout 30m $*"
  go test "${pkgs[@]}" -count=1 -timeout 30m "$@" || status=$?
  log "done in $((SECONDS - start))s: go test status $status, lint status $lint_status"
  if [[ $status -eq 0 && $lint_status -ne 0 ]]; then
    status=$lint_status
  fi
  return "$status"
}

main "$@"
