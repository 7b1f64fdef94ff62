#!/usr/bin/env bash
# Regenerates the dbt-postgres reference outputs that tests/postgres_parity.rs
# compares kiln with: dbt-core 1.11 + dbt-postgres build example_project on a
# PostgreSQL server (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, as psql
# reads them; e.g. the one .ci/postgres.sh starts). Needs Python 3 and PyPI;
# the outputs are committed, so tests never need dbt.
#
# usage: tests/dbt_reference_postgres/refresh.sh [path/to/venv]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${1:-/tmp/kiln-dbt-postgres-venv}
. "$repo/tests/dbt_reference/prepare.sh"
prepare "$venv" "$repo/example_project" "dbt-postgres"
export KILN_PG_SCHEMA=dbt_parity
"$venv/bin/python" -c '
import psycopg2
con = psycopg2.connect(""); con.autocommit = True
cur = con.cursor()
cur.execute("select nspname from pg_namespace where nspname like %s", ("dbt\\_parity%",))
for (s,) in cur.fetchall():
    cur.execute("drop schema \"%s\" cascade" % s)
'
"$venv/bin/dbt" --version | sed -n 's/.*installed: *\([0-9.]*\).*/dbt-core \1/p; s/.*- postgres: *\([0-9.]*\).*/dbt-postgres \1/p' > "$here/dbt_version.txt"
"$venv/bin/dbt" seed --profiles-dir . --target postgres -q > /dev/null
"$venv/bin/dbt" run --profiles-dir . --target postgres -q > /dev/null
"$venv/bin/dbt" snapshot --profiles-dir . --target postgres -q > /dev/null
# Every relation dbt built (its schema prefix shown as <schema>), each row
# as PostgreSQL's text of its columns joined with '|', rows sorted.
"$venv/bin/python" - "$here/relations.txt" <<'PY'
import sys, psycopg2
con = psycopg2.connect("")
cur = con.cursor()
cur.execute("select table_schema, table_name from information_schema.tables "
            "where table_schema like 'dbt\\_parity%%' order by 1, 2")
with open(sys.argv[1], "w") as out:
    for schema, name in cur.fetchall():
        out.write("## %s.%s\n" % (schema.replace("dbt_parity", "<schema>", 1), name))
        cur.execute("select column_name from information_schema.columns where table_schema = %s "
                    "and table_name = %s order by ordinal_position", (schema, name))
        cols = [c for (c,) in cur.fetchall()]
        out.write("|".join(cols) + "\n")
        if name == "customers_history":
            continue  # times of the snapshot run
        cur.execute("select %s from \"%s\".\"%s\"" % (", ".join('"%s"::text' % c for c in cols), schema, name))
        rows = sorted("|".join("NULL" if v is None else v for v in r) for r in cur.fetchall())
        for r in rows:
            out.write(r + "\n")
PY
"$venv/bin/dbt" test --profiles-dir . --target postgres -q > /dev/null || true
python3 -c '
import json
for r in json.load(open("target/run_results.json"))["results"]:
    print(r["unique_id"], r["status"], r.get("failures"))' | sort > "$here/test_verdicts.txt"
echo "refreshed $here"
