#!/usr/bin/env python3
"""Rewrites a project from ../shared/bench/gen_project.py (DuckDB SQL) into
its PostgreSQL variant, in place, and points its profile at PostgreSQL.

usage: make_variant.py PROJECT_DIR SCHEMA
The server comes from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE at run time.
The rewrites keep each model's meaning:
  double                        -> double precision
  select * from src qualify row_number() over (partition by K order by O) = 1
                                -> select distinct on (K) * from src order by K, O
  date_diff('day', a, b)        -> (b::date - a::date)
  round(x, n)                   -> round((x)::numeric, n)  (PostgreSQL rounds numerics only)
  the raw-events hook           -> generate_series, array indexing, interval arithmetic
"""
import pathlib
import re
import sys

QUALIFY = re.compile(
    r"select \*\n(\s*)from (\w+)\n\s*qualify row_number\(\) over \(partition by (\w+) order by ([^)]*)\) = 1"
)
DATE_DIFF = re.compile(r"date_diff\('day', (\w+), (\w+)\)")
DOUBLE = re.compile(r"\bdouble\b(?! precision)")

RAW_EVENTS = """{% macro create_raw_events(n=20000) -%}
create table if not exists raw.events as
select
    i as event_id,
    cast((i * 7919) % 2000 + 1 as integer) as customer_id,
    (array['page_view', 'add_to_cart', 'checkout', 'login'])[cast(i % 4 as integer) + 1] as event_type,
    timestamp '2023-01-01 00:00:00' + ((i * 613) % 47000000) * interval '1 second' as event_ts
from generate_series(0, {{ n }} - 1) as t(i)
{%- endmacro %}
"""

PROFILE = """bench:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{{{ env_var('PGHOST', '127.0.0.1') }}}}"
      port: "{{{{ env_var('PGPORT', '5432') | as_number }}}}"
      user: "{{{{ env_var('PGUSER', 'postgres') }}}}"
      password: "{{{{ env_var('PGPASSWORD', '') }}}}"
      dbname: "{{{{ env_var('PGDATABASE', 'postgres') }}}}"
      schema: {schema}
      threads: 4
"""


def numeric_round(text):
    """round(x, n) with x cast to numeric; x may hold parentheses and commas."""
    out, i = [], 0
    while True:
        j = text.find("round(", i)
        if j < 0 or (j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_")):
            if j < 0:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i : j + 6])
            i = j + 6
            continue
        depth, k, comma = 1, j + 6, None
        while k < len(text) and depth:
            c = text[k]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "," and depth == 1:
                comma = k
            k += 1
        if comma is None:
            out.append(text[i:k])
        else:
            arg = numeric_round(text[j + 6 : comma])
            out.append(text[i:j] + f"round(({arg})::numeric,{text[comma + 1 : k]}")
        i = k


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    root, schema = pathlib.Path(sys.argv[1]), sys.argv[2]
    for path in list(root.rglob("*.sql")):
        text = path.read_text()
        new = QUALIFY.sub(
            lambda m: f"select distinct on ({m[3]}) *\n{m[1]}from {m[2]}\n{m[1]}order by {m[3]}, {m[4]}", text
        )
        new = DATE_DIFF.sub(lambda m: f"({m[2]}::date - {m[1]}::date)", new)
        new = DOUBLE.sub("double precision", new)
        new = numeric_round(new)
        if path.name == "create_raw_events.sql":
            new = RAW_EVENTS
        if new != text:
            path.write_text(new)
    (root / "profiles.yml").write_text(PROFILE.format(schema=schema))


if __name__ == "__main__":
    main()
