#!/usr/bin/env bash
# Runs a command with AGENTGUARD_TEST_DATABASE_URL set to an admin URL of a
# PostgreSQL server on which the tests may CREATE and DROP databases:
#
#   scripts/with-postgres.sh node --test tests/gateway/postgres.test.mjs
#
# Which server, in this order:
#   1. AGENTGUARD_TEST_DATABASE_URL, if it is set already;
#   2. a server answering at 127.0.0.1:5432 that lets user postgres in
#      without a password and create databases;
#   3. a throwaway cluster: initdb into a temporary directory, started on a
#      free port of 127.0.0.1 (socket in that directory, trust auth), stopped
#      and removed when the command ends, fails or is interrupted. Debian's
#      postgresql package is installed first if there is no initdb.
# AGENTGUARD_TEST_THROWAWAY_PG=1 skips 1 and 2 (to test 3).
#
# Exits with the command's status (or 1 when no server could be had).

set -euo pipefail

say() { printf 'with-postgres: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$#" -gt 0 ] || die "usage: scripts/with-postgres.sh COMMAND [ARGS...]"

throwaway="${AGENTGUARD_TEST_THROWAWAY_PG:-0}"

# 1. Given.
if [ "$throwaway" != 1 ] && [ -n "${AGENTGUARD_TEST_DATABASE_URL:-}" ]; then
  say "using AGENTGUARD_TEST_DATABASE_URL as given"
  exec "$@"
fi

# 2. A local server on the default port.
LOCAL_URL="postgres://postgres@127.0.0.1:5432/postgres"
if [ "$throwaway" != 1 ] && command -v pg_isready >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
  && timeout 10 pg_isready -q -h 127.0.0.1 -p 5432 -t 3 >/dev/null 2>&1; then
  # Answering is not enough: it must let us in and let us create databases.
  can=$(PGCONNECT_TIMEOUT=5 timeout 10 psql -X -q -t -A -w "$LOCAL_URL" \
    -c "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null || true)
  if [ "$can" = t ]; then
    say "using the server at 127.0.0.1:5432 ($LOCAL_URL)"
    export AGENTGUARD_TEST_DATABASE_URL="$LOCAL_URL"
    exec "$@"
  fi
  say "a server answers at 127.0.0.1:5432 but user postgres cannot log in without a password or create databases there; starting a throwaway cluster"
fi

# 3. A throwaway cluster.
find_bin() {
  local d
  # The newest version's directory first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1; then
    d=$(dirname "$(readlink -f "$(command -v initdb)")")
    if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  fi
  return 1
}

if ! PGBIN=$(find_bin); then
  [ "$(id -u)" = 0 ] || die "no PostgreSQL server binaries (initdb, pg_ctl) and not root: install Debian's postgresql package, or set AGENTGUARD_TEST_DATABASE_URL"
  say "installing Debian's postgresql package (no initdb found)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -q >&2 || say "apt-get update failed; trying the install anyway"
  timeout 600 apt-get install -y -q postgresql >&2 || die "apt-get install postgresql failed"
  PGBIN=$(find_bin) || die "installed postgresql but found no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
fi
for tool in psql pg_isready; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$PGBIN/$tool" ] || die "no $tool (the tests need it): install postgresql-client"
done
# The tests call psql: make sure the cluster's own client is reachable.
export PATH="$PATH:$PGBIN"

# PostgreSQL refuses to run as root: as root, the cluster belongs to user
# postgres (or nobody).
as_user=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
  if command -v runuser >/dev/null 2>&1; then
    as_user=(runuser -u "$owner" --)
  else
    as_user=(su "$owner" -s /bin/sh -c '"$0" "$@"')
  fi
fi
pg() { "${as_user[@]}" "$@"; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-pg-XXXXXXXX")
chmod 700 "$DIR"
[ "$(id -u)" = 0 ] && chown "$owner" "$DIR"
DATA="$DIR/data"
LOG="$DIR/postgres.log"
started=0
child=

cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ "$started" = 1 ]; then
    # fast: disconnect clients, shut down cleanly; immediate if that hangs.
    pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || say "could not stop the throwaway cluster in $DATA"
  fi
  rm -rf "$DIR"
  exit "$status"
}
on_signal() {
  # Stop the command, then clean up (the EXIT trap) with the signal's status.
  local code=$1
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi
  exit "$code"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

say "starting a throwaway PostgreSQL cluster ($PGBIN) in $DIR"
pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }

port_free() {
  # Free when nothing accepts a connection on it.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

PORT=
for attempt in 1 2 3 4 5 6 7 8; do
  candidate=$((20000 + RANDOM % 40000))
  port_free "$candidate" || continue
  if pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $candidate -c unix_socket_directories=$DIR" start >/dev/null 2>&1; then
    PORT=$candidate
    started=1
    break
  fi
  # Stopped or never up (the port was taken meanwhile?): make sure, then retry.
  pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  say "start on port $candidate failed (attempt $attempt); log: $(tail -n 3 "$LOG" 2>/dev/null | tr '\n' ' ')"
done
[ -n "$PORT" ] || { cat "$LOG" >&2 2>/dev/null || true; die "could not start the throwaway cluster"; }

export AGENTGUARD_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
timeout 30 "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 20 || die "the throwaway cluster does not answer on port $PORT"
say "throwaway cluster up: $AGENTGUARD_TEST_DATABASE_URL"

# In the background (its stdin kept) so that a signal reaches our traps at once.
set +e
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=
set -e
exit "$status"
