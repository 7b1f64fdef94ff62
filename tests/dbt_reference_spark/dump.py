"""Every relation of a schema on the Spark Connect server at SPARK_REMOTE,
as tests/spark_parity.rs dumps kiln's: `## <schema>.name`, the columns, then
each row's values as Spark casts them to string, joined with '|', sorted.

usage: dump.py dump SCHEMA | dump.py drop SCHEMA
"""
import os
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
action, schema = sys.argv[1], sys.argv[2]
if action == "drop":
    spark.sql(f"drop schema if exists {schema} cascade")
    sys.exit(0)
names = sorted(r.tableName for r in spark.sql(f"show tables in {schema}").collect() if not r.isTemporary)
for name in names:
    print(f"## <schema>.{name}")
    cols = [r.col_name for r in spark.sql(f"describe table {schema}.{name}").collect()]
    cols = cols[: cols.index("# Partition Information")] if "# Partition Information" in cols else cols
    cols = [c for c in cols if c and not c.startswith("#")]
    print("|".join(cols))
    values = ", ".join(f"coalesce(cast(`{c}` as string), 'NULL')" for c in cols)
    rows = spark.sql(f"select concat_ws('|', {values}) as line from {schema}.{name}").collect()
    for line in sorted(r.line for r in rows):
        print(line)
