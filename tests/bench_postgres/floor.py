#!/usr/bin/env python3
"""The PostgreSQL floor: the time the server alone needs to build a project's
models, with no tool around it. Executes the compiled SQL of every model in a
manifest.json (written by `kiln compile` before any model exists, so
incremental models compile as first builds) as
  CREATE VIEW|TABLE <relation> AS (<compiled_code>)
in dependency order on THREADS connections, each taking the next model whose
parents are built (as kiln's and dbt's workers do).

usage: floor.py MANIFEST THREADS
       floor.py MANIFEST --drop     (drops every model relation, untimed)
Server from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE. Needs psycopg2
(dbt-postgres brings it). Prints one JSON line: wall seconds, summed
statement seconds, models.
"""
import json
import sys
import threading
import time

import psycopg2


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    man = json.load(open(sys.argv[1]))
    drop = sys.argv[2] == "--drop"
    threads = 0 if drop else int(sys.argv[2])
    models = {
        k: v
        for k, v in man["nodes"].items()
        if v["resource_type"] == "model" and v["config"]["materialized"] != "ephemeral"
    }
    nodes = man["nodes"]

    def built_parents(k, seen):
        # Parents that are built; an ephemeral parent stands for its own.
        out = set()
        for d in nodes.get(k, {}).get("depends_on", {}).get("nodes", []):
            if d in models:
                out.add(d)
            elif d in nodes and nodes[d]["resource_type"] == "model" and d not in seen:
                seen.add(d)
                out |= built_parents(d, seen)
        return out

    parents = {k: built_parents(k, set()) for k in models}
    children = {k: [] for k in models}
    for k, ps in parents.items():
        for p in ps:
            children[p].append(k)
    if drop:
        conn = psycopg2.connect("")
        conn.autocommit = True
        with conn.cursor() as cur:
            for v in models.values():
                cur.execute(
                    "select case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end "
                    "from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s",
                    (v["schema"], v["alias"]),
                )
                row = cur.fetchone()
                if row:
                    cur.execute("drop %s if exists %s cascade" % (row[0], v["relation_name"]))
        return
    conns = [psycopg2.connect("") for _ in range(threads)]
    for c in conns:
        c.autocommit = True
    schemas = {(v["database"], v["schema"]) for v in models.values()}
    with conns[0].cursor() as cur:
        for _, s in schemas:
            cur.execute('create schema if not exists "%s"' % s)
    lock = threading.Condition()
    ready = sorted(k for k, ps in parents.items() if not ps)
    waiting = {k: len(ps) for k, ps in parents.items()}
    done, busy = [0], [0.0]
    errors = []

    def worker(conn):
        while True:
            with lock:
                while not ready and done[0] + len(errors) < len(models) and not errors:
                    lock.wait()
                if not ready:
                    lock.notify_all()
                    return
                k = ready.pop(0)
            n = models[k]
            kind = "view" if n["config"]["materialized"] == "view" else "table"
            sql = "create %s %s as (\n%s\n)" % (kind, n["relation_name"], n["compiled_code"])
            started = time.perf_counter()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append("%s: %s" % (k, e))
                    lock.notify_all()
                return
            spent = time.perf_counter() - started
            with lock:
                busy[0] += spent
                done[0] += 1
                for c in children[k]:
                    waiting[c] -= 1
                    if waiting[c] == 0:
                        ready.append(c)
                lock.notify_all()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(c,)) for c in conns]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit("floor: " + errors[0])
    print(json.dumps({"wall_s": round(wall, 3), "statements_s": round(busy[0], 3), "models": len(models), "threads": threads}))


if __name__ == "__main__":
    main()
