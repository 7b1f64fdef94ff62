#!/usr/bin/env bash
# kiln beside dbt-postgres and beside the floor (the server alone, see
# floor.py) on a generated project of N models, on a PostgreSQL server
# (PG* variables), with --threads 4.
#
# usage: KILN=path/to/kiln DBT=path/to/venv/bin/dbt tests/bench_postgres/run.sh [N] [REPS]
# DBT is optional; its venv's python (with psycopg2) runs floor.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
n=${1:-1000}
reps=${2:-3}
kiln=${KILN:?set KILN to the kiln binary}
py=${PY:-python3}
[ -n "${DBT:-}" ] && py=${PY:-$(dirname "$DBT")/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$repo/../shared/bench/gen_project.py" "$n" 1 "$work/p" > /dev/null
python3 "$here/make_variant.py" "$work/p" kbench
cd "$work/p"
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=False

drop_all() {
  psql -q -c "do \$\$ declare s text; begin for s in select nspname from pg_namespace where nspname like 'kbench%' or nspname in ('raw', 'marts', 'staging', 'intermediate') loop execute format('drop schema %I cascade', s); end loop; end \$\$" 2>/dev/null
}
drop_models() { "$py" "$here/floor.py" target/manifest.json --drop; }
best() { sort -n | head -1; }
time_of() { local s; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }; echo "$(date +%s.%N) - $s" | bc; }

drop_all
"$kiln" seed > /dev/null 2>&1
"$kiln" compile > /dev/null 2>&1
floor_runs=(); kiln_runs=(); dbt_runs=()
for _ in $(seq "$reps"); do
  drop_models
  floor_runs+=("$("$py" "$here/floor.py" target/manifest.json 4 | sed 's/.*"wall_s": \([0-9.]*\).*/\1/')")
  drop_models
  kiln_runs+=("$(time_of "$kiln" run --threads 4)")
  if [ -n "${DBT:-}" ]; then
    drop_models
    dbt_runs+=("$(time_of "$DBT" run --profiles-dir . --threads 4)")
  fi
done
echo "models: $(ls -R models | grep -c '\.sql$'), threads 4, best of $reps (wall seconds)"
echo "floor (server alone): $(printf '%s\n' "${floor_runs[@]}" | best)   all: ${floor_runs[*]}"
echo "kiln run:             $(printf '%s\n' "${kiln_runs[@]}" | best)   all: ${kiln_runs[*]}"
[ -n "${DBT:-}" ] && echo "dbt-postgres run:     $(printf '%s\n' "${dbt_runs[@]}" | best)   all: ${dbt_runs[*]}"
drop_all
