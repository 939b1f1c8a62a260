#!/usr/bin/env bash
# Makes state-v6.db, the migration test's fixture: a state.db written by the code before the
# control plane was split (commit ce4a519, schema version 6). Run from the repository root:
#   test/Switchyard.Daemon.Tests/Data/make-state-v6.sh
# It builds that commit's CLI in a temporary directory, runs its daemon (no root needed: socket
# endpoints only), makes networks and endpoints, stops it with SIGTERM (which checkpoints the WAL)
# and copies state.db here.
set -euo pipefail
commit=ce4a519
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d /tmp/yard-fixture-XXXX)"
trap 'kill "${daemon:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# YARD_PREV_BIN: a directory with that commit's yard.dll already built (skips the build).
bin="${YARD_PREV_BIN:-$work/bin}"
if [ -z "${YARD_PREV_BIN:-}" ]; then
  mkdir -p "$work/src-tree"
  git archive "$commit" | tar -x -C "$work/src-tree"
  dotnet build "$work/src-tree/src/Switchyard.Cli/Switchyard.Cli.csproj" -c Release -o "$bin" -nologo -v quiet -clp:ErrorsOnly
fi
yard() { local cmd=$1 sub=$2; shift 2; dotnet "$bin/yard.dll" "$cmd" "$sub" --socket "$work/yard.sock" "$@"; }
# The socket endpoints' paths are stored; the test makes this directory before it restores them.
socks=/tmp/yard-migration-fixture
mkdir -p "$socks"
echo "nameserver 127.0.0.53" > "$work/resolv.conf"
dotnet "$bin/yard.dll" daemon --state-dir "$work/state" --socket "$work/yard.sock" --resolv-conf "$work/resolv.conf" &
daemon=$!
for _ in $(seq 100); do [ -S "$work/yard.sock" ] && break; sleep 0.1; done

yard network create natnet --subnet 10.201.0.0/24 --ipv6 fd42:5ee:1::/64 --egress deny --allow example.com --allow '10.0.0.0/8:443/tcp' --label tier=web
yard network create intnet --mode internal --subnet 10.202.0.0/24 --domain lab.test
yard network create hostnet --mode host --subnet 10.203.0.0/24 --no-host-loopback --dns-upstream 127.0.0.53
yard endpoint attach natnet web --stream-listen "$socks/web.sock" --mac 02:00:00:00:0a:01 --publish 127.0.0.1:47811:80 --publish 47812:53/udp --alias www --alias api --label role=frontend
yard endpoint attach natnet db --dgram-listen "$socks/db.sock" --ip 10.201.0.50 --no-default-route
yard endpoint attach intnet worker --dgram-listen "$socks/worker.sock" --mac 02:00:00:00:0b:01 --alias job
yard endpoint attach hostnet probe --stream-listen "$socks/probe.sock" --publish 127.0.0.1:47813:8080
yard endpoint attach intnet gone --dgram-listen "$socks/gone.sock"
yard endpoint detach intnet gone   # a reservation without an endpoint

kill -TERM "$daemon"
wait "$daemon" || true
daemon=
[ ! -e "$work/state/state.db-wal" ] || [ ! -s "$work/state/state.db-wal" ] || { echo "WAL not checkpointed" >&2; exit 1; }
cp "$work/state/state.db" "$here/state-v6.db"
rm -rf "$socks"
echo "wrote $here/state-v6.db"
