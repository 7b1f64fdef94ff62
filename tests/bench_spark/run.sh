#!/usr/bin/env bash
# kiln beside dbt-spark and beside the floor (the server alone, see
# floor.py) on a generated project of N models, on a Spark Connect server
# (KILN_TEST_SPARK), with THREADS workers.
#
# usage: KILN=path/to/kiln KILN_TEST_SPARK=sc://127.0.0.1:15002 \
#        tests/bench_spark/run.sh [N] [REPS] [THREADS] [VENV]
# VENV holds dbt-spark[session] and pyspark[connect] (see
# tests/dbt_reference_spark/refresh.sh); its python runs floor.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
n=${1:-200}
reps=${2:-3}
threads=${3:-4}
venv=${4:-$HOME/.cache/kiln-spark/dbtvenv}
kiln=${KILN:?set KILN to the kiln binary}
: "${KILN_TEST_SPARK:?set KILN_TEST_SPARK to the Spark Connect server}"
export SPARK_REMOTE="$KILN_TEST_SPARK" DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=False
py="$venv/bin/python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$repo/../shared/bench/gen_project.py" "$n" 1 "$work/p" > /dev/null
python3 "$here/make_variant.py" "$work/p" kbench
cd "$work/p"
best() { sort -n | head -1; }
time_of() { local s; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }; echo "$(date +%s.%N) - $s" | bc; }
drop_models() { "$py" "$here/floor.py" target/manifest.json --drop 2> /dev/null; }

"$kiln" seed > /dev/null 2>&1  # its on-run-start hook makes raw.events
"$kiln" compile > /dev/null 2>&1
floor_runs=(); kiln_runs=(); dbt_runs=()
for _ in $(seq "$reps"); do
  drop_models
  floor_runs+=("$("$py" "$here/floor.py" target/manifest.json "$threads" 2>/dev/null | sed 's/.*"wall_s": \([0-9.]*\).*/\1/')")
  drop_models
  kiln_runs+=("$(time_of "$kiln" run --threads "$threads")")
  if [ -x "$venv/bin/dbt" ]; then
    drop_models
    dbt_runs+=("$(time_of "$venv/bin/dbt" run --profiles-dir . --target dbt --threads "$threads")")
  fi
done
models=$("$py" -c 'import json,sys; m=json.load(open("target/manifest.json")); print(sum(1 for v in m["nodes"].values() if v["resource_type"]=="model" and v["config"]["materialized"]!="ephemeral"))')
echo "models built: $models, threads $threads, best of $reps (wall seconds)"
echo "floor (server alone): $(printf '%s\n' "${floor_runs[@]}" | best)   all: ${floor_runs[*]}"
echo "kiln run:             $(printf '%s\n' "${kiln_runs[@]}" | best)   all: ${kiln_runs[*]}"
[ ${#dbt_runs[@]} -gt 0 ] && echo "dbt-spark run:        $(printf '%s\n' "${dbt_runs[@]}" | best)   all: ${dbt_runs[*]}"
"$py" -c "import os; s=os.environ['SPARK_REMOTE']; from pyspark.sql import SparkSession; x=SparkSession.builder.remote(s).getOrCreate(); [x.sql(f'drop schema if exists {d} cascade') for d in ('kbench','marts','raw')]" 2>/dev/null || true
