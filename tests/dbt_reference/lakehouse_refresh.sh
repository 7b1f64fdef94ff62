#!/usr/bin/env bash
# Regenerates tests/dbt_reference/lakehouse/: dbt-core 1.11 + dbt-duckdb
# build tests/fixtures/lakehouse (seed, then run over 2024-01-01..04), and
# every relation's rows are dumped as text, sorted.
#
# usage: tests/dbt_reference/lakehouse_refresh.sh [path/to/venv]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${1:-/tmp/kiln-dbt-venv}
. "$here/prepare.sh"
prepare "$venv" "$repo/tests/fixtures/lakehouse" "dbt-duckdb>=1.11,<1.12"
mkdir -p exports  # dbt-duckdb does not create external_root (kiln does)
mkdir -p "$here/lakehouse"
"$venv/bin/dbt" seed --profiles-dir . -q > /dev/null
"$venv/bin/dbt" run --profiles-dir . -q --event-time-start 2024-01-01 --event-time-end 2024-01-04 > /dev/null
"$venv/bin/python" - "$here/lakehouse/relations.txt" <<'PY'
import sys, duckdb
con = duckdb.connect("lake.duckdb", read_only=True)
rels = con.execute("select table_schema, table_name from information_schema.tables "
                   "where table_catalog = current_database() order by 1, 2").fetchall()
with open(sys.argv[1], "w") as out:
    for schema, name in rels:
        out.write("## %s.%s\n" % (schema, name))
        rows = con.execute('select columns(*)::varchar from "%s"."%s"' % (schema, name)).fetchall()
        for row in sorted("|".join("NULL" if v is None else v for v in r) for r in rows):
            out.write(row + "\n")
PY
cp exports/kinds_export.csv "$here/lakehouse/kinds_export.csv"
echo "refreshed $here/lakehouse"
