#!/usr/bin/env bash
# Regenerates the dbt reference outputs the tests compare kiln with, by running
# dbt-core 1.11 + dbt-duckdb on example_project. Needs Python 3 and network
# access to PyPI; the outputs are committed, so tests never need dbt.
#
# usage: tests/dbt_reference/refresh.sh [path/to/venv]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${1:-/tmp/kiln-dbt-venv}
. "$here/prepare.sh"
prepare "$venv" "$repo/example_project" "dbt-duckdb>=1.11,<1.12"
"$venv/bin/dbt" --version | grep -m1 installed | sed "s/.*installed: */dbt-core /" > "$here/dbt_version.txt"
"$venv/bin/dbt" parse --profiles-dir . -q > /dev/null
# dbt's own manifest, as `--state` for kiln.
mkdir -p "$here/dbt_state"
cp target/manifest.json "$here/dbt_state/manifest.json"

# The parts of each parsed manifest node that kiln must reproduce exactly.
python3 - "$here/nodes.json" <<'PY'
import json, sys
m = json.load(open("target/manifest.json"))
keep = ["unique_id", "resource_type", "name", "fqn", "path", "original_file_path", "database",
        "schema", "alias", "checksum", "relation_name", "tags", "refs", "sources"]
out = {}
for uid, n in sorted(m["nodes"].items()):
    if n["resource_type"] == "operation":
        continue
    d = {k: n.get(k) for k in keep}
    d["depends_on_nodes"] = n["depends_on"].get("nodes", [])
    d["depends_on_macros"] = n["depends_on"].get("macros", [])
    d["materialized"] = n["config"].get("materialized")
    if "test_metadata" in n:
        d["test_metadata"] = n["test_metadata"]
        d["column_name"] = n.get("column_name")
        d["attached_node"] = n.get("attached_node")
    out[uid] = d
out["__sources__"] = {uid: {k: s.get(k) for k in ["unique_id", "fqn", "database", "schema", "identifier", "relation_name"]}
                      for uid, s in m["sources"].items()}
out["__parent_map__"] = {k: v for k, v in m["parent_map"].items() if not k.startswith("operation.")}
json.dump(out, open(sys.argv[1], "w"), indent=1, sort_keys=True)
PY

# Compiled SQL of every node (hooks are compiled by dbt into dbt_project.yml/).
"$venv/bin/dbt" compile --profiles-dir . -q > /dev/null
rm -rf "$here/compiled"
cp -r target/compiled/shop "$here/compiled"
rm -rf "$here/compiled/dbt_project.yml"

# What `dbt ls --output name --resource-type all` selects for each case.
: > "$here/selector_expected.txt"
while IFS= read -r case; do
  [ -z "$case" ] && continue
  if [[ "$case" == -* ]]; then args=($case); else args=(-s "$case"); fi
  names=$("$venv/bin/dbt" ls --profiles-dir . -q --output name --resource-type all "${args[@]}" | sort | tr '\n' ' ')
  printf '%s\t%s\n' "$case" "$names" >> "$here/selector_expected.txt"
done < "$here/selector_cases.txt"
# Test verdicts after seed + run, as "unique_id status failures" lines: once
# as the project stands, once with a var that makes a test fail.
"$venv/bin/dbt" seed --profiles-dir . -q > /dev/null
"$venv/bin/dbt" run --profiles-dir . -q > /dev/null
# Every relation dbt built, its rows as DuckDB casts them to text, sorted.
python3_duckdb="$venv/bin/python"
"$python3_duckdb" - "$here/relations.txt" <<'PY'
import sys, duckdb
con = duckdb.connect("shop.duckdb", read_only=True)
rels = con.execute("select table_schema, table_name from information_schema.tables "
                   "where table_catalog = current_database() order by 1, 2").fetchall()
with open(sys.argv[1], "w") as out:
    for schema, name in rels:
        out.write("## %s.%s\n" % (schema, name))
        for row in con.execute('select columns(*)::varchar from "%s"."%s" order by all' % (schema, name)).fetchall():
            out.write("|".join("NULL" if v is None else v for v in row) + "\n")
PY
verdicts() {
  "$venv/bin/dbt" test --profiles-dir . -q "$@" > /dev/null || true
  python3 -c '
import json
for r in json.load(open("target/run_results.json"))["results"]:
    if not r["unique_id"].startswith("operation."):
        print(r["unique_id"], r["status"], r.get("failures"))' | sort
}
verdicts > "$here/test_verdicts.txt"
verdicts --vars '{payment_methods: [credit_card, coupon]}' > "$here/test_verdicts_failing.txt"
# Snapshots: tests/fixtures/snapshots through its steps (steps/N.csv becomes
# the seed, then seed + snapshot), every snapshot table dumped after each.
cp -r "$repo/tests/fixtures/snapshots" "$work/s"
cd "$work/s"
rm -rf target *.duckdb
: > "$here/snapshots.txt"
for step in $(ls steps | sort -n); do
  cp "steps/$step" seeds/customers.csv
  "$venv/bin/dbt" seed --profiles-dir . -q > /dev/null
  "$venv/bin/dbt" snapshot --profiles-dir . -q > /dev/null
  "$venv/bin/python" - "${step%.csv}" >> "$here/snapshots.txt" <<'PY'
import sys, duckdb
con = duckdb.connect("snaps.duckdb", read_only=True)
print("### step %s" % sys.argv[1])
rels = con.execute("select table_schema, table_name from information_schema.tables "
                   "where table_catalog = current_database() and table_schema != 'main' order by 1, 2").fetchall()
for schema, name in rels:
    cur = con.execute('select columns(*)::varchar from "%s"."%s" order by all' % (schema, name))
    print("## %s.%s" % (schema, name))
    print("|".join(d[0] for d in cur.description))
    for row in cur.fetchall():
        print("|".join("NULL" if v is None else v for v in row))
PY
done
echo "refreshed $here"
