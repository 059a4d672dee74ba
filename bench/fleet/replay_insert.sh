#!/usr/bin/env bash
# The fleet replay check's own cost (BENCHMARKS.md, "Gate fleet on PostgreSQL"): the INSERT … ON
# CONFLICT DO NOTHING of one decision's 32-byte replay key into the fleet's `replay_keys` table
# (the gate's schema, verifier-server/src/serve/store/postgres.rs), measured with pgbench against
# the throwaway cluster of scripts/pg-test-cluster (fsync off): one client, one key per
# statement (a decision alone: one round trip), then 8 clients sending 8 keys per statement (the
# gate's batched claims under load).
#   bench/fleet/replay_insert.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${1:-10}"
bin=$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/pgbench" | sort -V | tail -1)")
PG=$(mktemp -d); WORK=$(mktemp -d)
trap 'scripts/pg-test-cluster destroy "$PG"; rm -rf "$WORK"' EXIT
url=$(scripts/pg-test-cluster start "$PG")
psql -qAt "$url" -c "CREATE TABLE replay_keys (key bytea PRIMARY KEY, expires_at bigint NOT NULL);
                     CREATE INDEX replay_keys_expiry ON replay_keys (expires_at);"
cat >"$WORK/one.sql" <<'SQL'
INSERT INTO replay_keys (key, expires_at) VALUES (decode(md5(random()::text) || md5(random()::text), 'hex'), 2000000000) ON CONFLICT DO NOTHING;
SQL
cat >"$WORK/eight.sql" <<'SQL'
INSERT INTO replay_keys (key, expires_at) SELECT decode(md5(random()::text) || md5(random()::text), 'hex'), 2000000000 FROM generate_series(1, 8) ON CONFLICT DO NOTHING;
SQL
report() { grep -E "latency average|^tps" | sed 's/ (without initial connection time)//'; }
echo "one client, one key per INSERT (${T} s):"
"$bin/pgbench" -n -M prepared -c 1 -T "$T" -f "$WORK/one.sql" "$url" 2>/dev/null | report
echo "8 clients, 8 keys per INSERT (${T} s; decisions/s = 8 × tps):"
"$bin/pgbench" -n -M prepared -c 8 -j 2 -T "$T" -f "$WORK/eight.sql" "$url" 2>/dev/null | report
