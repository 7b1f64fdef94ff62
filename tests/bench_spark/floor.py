#!/usr/bin/env python3
"""The Spark floor: the time the server alone needs to build a project's
models. Executes the compiled SQL of every model in a manifest.json (written
by `kiln compile` before any model exists) as
  CREATE OR REPLACE VIEW <relation> AS <compiled_code>
  CREATE TABLE <relation> USING parquet AS <compiled_code>
in dependency order on THREADS Spark Connect sessions (pyspark's client),
each taking the next model whose parents are built.

usage: floor.py MANIFEST THREADS      (server from SPARK_REMOTE)
       floor.py MANIFEST --drop       (drops every model relation, untimed)
Prints one JSON line: wall seconds, summed statement seconds, models.
"""
import json
import os
import sys
import threading
import time

from pyspark.sql import SparkSession


def session():
    return SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).create()


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    man = json.load(open(sys.argv[1]))
    nodes = man["nodes"]
    models = {
        k: v
        for k, v in nodes.items()
        if v["resource_type"] == "model" and v["config"]["materialized"] != "ephemeral"
    }

    def name(v):
        return f"{v['schema']}.{v['alias']}"

    if sys.argv[2] == "--drop":
        s = session()
        for v in models.values():
            kind = "view" if v["config"]["materialized"] == "view" else "table"
            s.sql(f"drop {kind} if exists {name(v)}")
        return

    def built_parents(k, seen):
        out = set()
        for d in nodes.get(k, {}).get("depends_on", {}).get("nodes", []):
            if d in models:
                out.add(d)
            elif d in nodes and nodes[d]["resource_type"] == "model" and d not in seen:
                seen.add(d)
                out |= built_parents(d, seen)
        return out

    parents = {k: built_parents(k, set()) for k in models}
    threads = int(sys.argv[2])
    sessions = [session() for _ in range(threads)]
    lock = threading.Condition()
    done, started = set(), set()
    spent = [0.0]

    def statement(v):
        if v["config"]["materialized"] == "view":
            return f"create or replace view {name(v)} as\n{v['compiled_code']}"
        return f"create table {name(v)} using parquet as\n{v['compiled_code']}"

    def worker(s):
        while True:
            with lock:
                while True:
                    ready = [k for k in models if k not in started and parents[k] <= done]
                    if ready or len(started) == len(models):
                        break
                    lock.wait()
                if not ready:
                    return
                k = ready[0]
                started.add(k)
            t = time.perf_counter()
            s.sql(statement(models[k]))
            with lock:
                spent[0] += time.perf_counter() - t
                done.add(k)
                lock.notify_all()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"wall_s": round(time.perf_counter() - t0, 3), "statements_s": round(spent[0], 3), "models": len(models)}))


if __name__ == "__main__":
    main()
