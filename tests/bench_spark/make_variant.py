#!/usr/bin/env python3
"""Rewrites a project from ../shared/bench/gen_project.py (DuckDB SQL) into
its Spark SQL variant, in place, and points its profile at a Spark Connect
server (KILN_TEST_SPARK for kiln; dbt-spark's session method reaches the
same server through SPARK_REMOTE).

usage: make_variant.py PROJECT_DIR SCHEMA
The rewrites keep each model's meaning:
  select * from src qualify row_number() over (...) = 1
        -> select * from (select *, row_number() over (...) as dbt_rn from src) where dbt_rn = 1
           (the deduplicated rows are only ever read by named columns)
  date_diff('day', a, b)   -> datediff(b, a)
  the raw-events hook      -> range(), element_at, timestamp_seconds
  tables                   -> parquet (Spark's own default, named for clarity)
"""
import pathlib
import re
import sys

QUALIFY = re.compile(
    r"select \*\n(\s*)from (\w+)\n\s*qualify (row_number\(\) over \([^)]*\)) = 1"
)
DATE_DIFF = re.compile(r"date_diff\('day', (\w+), (\w+)\)")

RAW_EVENTS = """{% macro create_raw_events(n=20000) -%}
create table if not exists raw.events using parquet as
select
    id as event_id,
    cast((id * 7919) % 2000 + 1 as int) as customer_id,
    element_at(array('page_view', 'add_to_cart', 'checkout', 'login'), cast(id % 4 as int) + 1) as event_type,
    timestamp_seconds(1672531200 + (id * 613) % 47000000) as event_ts
from range({{ n }})
{%- endmacro %}
"""

PROFILE = """bench:
  target: kiln
  outputs:
    kiln:
      type: spark
      method: connect
      host: "{{{{ env_var('KILN_TEST_SPARK', 'sc://127.0.0.1:15002') }}}}"
      schema: {schema}
      threads: 4
    dbt:
      type: spark
      method: session
      host: NA
      schema: {schema}
      threads: 4
"""


def main():
    root = pathlib.Path(sys.argv[1])
    schema = sys.argv[2]
    for path in root.rglob("*.sql"):
        text = path.read_text()
        new = QUALIFY.sub(
            lambda m: f"select *\n{m.group(1)}from (select *, {m.group(3)} as dbt_rn from {m.group(2)})\n{m.group(1)}where dbt_rn = 1",
            text,
        )
        new = DATE_DIFF.sub(lambda m: f"datediff({m.group(2)}, {m.group(1)})", new)
        if "macro create_raw_events" in new:
            new = RAW_EVENTS
        if new != text:
            path.write_text(new)
    (root / "profiles.yml").write_text(PROFILE.format(schema=schema))
    project = root / "dbt_project.yml"
    project.write_text(project.read_text().replace("    +materialized: view\n", "    +materialized: view\n    +file_format: parquet\n", 1))


if __name__ == "__main__":
    main()
