#!/usr/bin/env bash
# Regenerates the dbt-spark reference that tests/spark_parity.rs compares
# kiln with: dbt-core 1.11 + dbt-spark 1.11 (session method, reaching the
# Spark Connect server at KILN_TEST_SPARK through SPARK_REMOTE) build
# tests/fixtures/spark_shop: seed, run, run again with load=2 (the
# incremental models' second run), then test. Needs Python 3 and PyPI; the
# outputs are committed, so tests never need dbt.
#
# usage: KILN_TEST_SPARK=sc://127.0.0.1:15002 tests/dbt_reference_spark/refresh.sh [venv]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${1:-$HOME/.cache/kiln-spark/dbtvenv}
: "${KILN_TEST_SPARK:?set KILN_TEST_SPARK to the Spark Connect server (sc://host:port)}"
if [ ! -x "$venv/bin/dbt" ]; then
  python3 -m venv "$venv"
  # dbt-core is pinned: newer ones download more at install time.
  "$venv/bin/pip" install -q "dbt-core==1.11.16" "dbt-spark[session]==1.11.0" "pyspark[connect]==4.3.0"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/tests/fixtures/spark_shop" "$work/project"
cd "$work/project"
export SPARK_REMOTE="$KILN_TEST_SPARK" KILN_SPARK_SCHEMA=dbt_parity DBT_SEND_ANONYMOUS_USAGE_STATS=false
"$venv/bin/python" "$here/dump.py" drop dbt_parity
"$venv/bin/dbt" --version | sed -n 's/.*installed: *\([0-9.]*\).*/dbt-core \1/p; s/.*- spark: *\([0-9.]*\).*/dbt-spark \1/p' > "$here/dbt_version.txt"
"$venv/bin/dbt" seed --profiles-dir . --target dbt -q > /dev/null
"$venv/bin/dbt" run --profiles-dir . --target dbt -q > /dev/null
"$venv/bin/dbt" run --profiles-dir . --target dbt -q --vars 'load: 2' > /dev/null
"$venv/bin/python" "$here/dump.py" dump dbt_parity > "$here/relations.txt"
"$venv/bin/dbt" test --profiles-dir . --target dbt -q > /dev/null || true
python3 -c '
import json
for r in json.load(open("target/run_results.json"))["results"]:
    print(r["unique_id"], r["status"], r.get("failures"))' | sort > "$here/test_verdicts.txt"
"$venv/bin/python" "$here/dump.py" drop dbt_parity
echo "refreshed $here"
