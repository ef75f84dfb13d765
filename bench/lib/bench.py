#!/usr/bin/env python3
"""Helper of bench/run: talks to the server before the timed runs, records each wrk run,
measures start-up, and writes the report (table + JSON). Standard library only."""
import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse


def conn(base):
    u = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def get_json(c, path, token, headers=None):
    h = {"Authorization": f"Bearer {token}"}
    h.update(headers or {})
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status} {body[:300]!r}")
    return json.loads(body), r


def cmd_prepare(a):
    """ids + versions for the single-record scenarios, the cursor of page N, an action plan."""
    c = conn(a.base)
    out = {}
    ids = []
    cursor = None
    while len(ids) < a.ids:
        q = "/v1/projects?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page, _ = get_json(c, q, a.token)
        ids += [(p["id"], p["version"]) for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = ids[: a.ids]
    with open(a.ids_file, "w") as f:
        for i, v in ids:
            f.write(f"{i} {v}\n")
    out["ids"] = len(ids)
    # Check the ETag / 304 behaviour once, so the 304 scenario measures what it claims.
    pid, ver = ids[0]
    _, r = get_json(c, f"/v1/projects/{pid}", a.token)
    out["etag"] = r.getheader("ETag")
    c.request("GET", f"/v1/projects/{pid}",
              headers={"Authorization": f"Bearer {a.token}", "If-None-Match": f'"{ver}"'})
    r = c.getresponse()
    r.read()
    out["if_none_match_status"] = r.status
    # Walk next_cursor with limit=20 to the page asked for (or the last full page there is).
    t0 = time.monotonic()
    page_no, cursor, last_cursor = 1, None, None
    path = "/v1/projects?limit=20"
    while page_no < a.page:
        page, _ = get_json(c, path + (f"&cursor={cursor}" if cursor else ""), a.token)
        if not page["next_cursor"]:
            break
        last_cursor = cursor
        cursor = page["next_cursor"]
        page_no += 1
    # make sure the page we stop on is full (20 items); otherwise step back one
    page, _ = get_json(c, path + (f"&cursor={cursor}" if cursor else ""), a.token)
    if len(page["items"]) < 20 and last_cursor:
        cursor, page_no = last_cursor, page_no - 1
    out["page"] = page_no
    out["page_cursor"] = cursor or ""
    out["page_walk_s"] = round(time.monotonic() - t0, 2)
    # New activities go into a draft plan: an adopted plan's activities change only through a
    # revision.
    body = json.dumps({"kind": "action_plan", "title": "[BENCH] Handlingsplan", "year": 2030})
    c.request("POST", "/v1/documents", body=body,
              headers={"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"})
    r = c.getresponse()
    plan = json.loads(r.read())
    if r.status != 201:
        raise SystemExit(f"creating the bench's draft plan: {r.status} {plan}")
    out["action_plan_id"] = plan["id"]
    acts, _ = get_json(c, "/v1/activities?limit=50&status=ongoing", a.token)
    out["list_activities_items"] = len(acts["items"])
    feed, _ = get_json(c, "/v1/changes?limit=500", a.token)
    out["changes_items"] = len(feed["items"])
    json.dump(out, sys.stdout)
    print()


def cmd_sync_prepare(a):
    """Bulk-upsert bodies for the sync scenarios: the first `unchanged` projects as stored (a
    nightly resend), and the next 16 x 100 with a title that changes on every request."""
    c = conn(a.base)
    projects, cursor = [], None
    want = a.unchanged + 16 * 100
    while len(projects) < want:
        q = "/v1/projects?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page, _ = get_json(c, q, a.token)
        projects += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if len(projects) < want:
        raise SystemExit(f"sync scenarios need {want} projects, the server has {len(projects)}")

    def item(p, changed):
        key = next(e for e in p["external_ids"] if e["scheme"] == "demo")
        record = {k: v for k, v in p.items() if k not in ("id", "version", "created_at", "updated_at")}
        if changed:
            record["title"] = p["title"][:400] + " [BENCH] __N__"
        return {"external_id": key, "record": record}

    def write(path, group, changed):
        with open(path, "w") as f:
            for k in range(0, len(group), 100):
                f.write(json.dumps({"items": [item(p, changed) for p in group[k:k + 100]]},
                                   ensure_ascii=False) + "\n")

    write(a.unchanged_file, projects[: a.unchanged], False)
    write(a.changed_file, projects[a.unchanged: want], True)
    # Since when the list by `updated_since` reads: an hour before the newest change.
    json.dump({"unchanged_items": a.unchanged, "changed_items": 1600,
               "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))},
              sys.stdout)
    print()


def proc_status(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    d[k] = int(v.split()[0])
    except FileNotFoundError:
        pass
    return d


def cmd_record(a):
    """Append one wrk run (its JSON from common.lua) with the server's memory to results.jsonl."""
    with open(a.wrk_out) as f:
        w = json.load(f)
    secs = w["duration_us"] / 1e6
    rec = {
        "scenario": a.scenario,
        "backend": a.backend,
        "log": a.log,
        "connections": a.connections,
        "url": a.url,
        "duration_s": round(secs, 3),
        "requests": w["requests"],
        "rps": round(w["requests"] / secs, 1),
        "p50_ms": w["latency_us"]["p50"] / 1000,
        "p90_ms": w["latency_us"]["p90"] / 1000,
        "p99_ms": w["latency_us"]["p99"] / 1000,
        "max_ms": w["latency_us"]["max"] / 1000,
        "bytes_per_req": round(w["bytes"] / max(w["requests"], 1)),
        "errors": w["errors"],
        "counters": w["counters"],
    }
    if "acked" in w["counters"]:
        rec["acked_per_s"] = round(w["counters"]["acked"] / secs, 1)
    if "items" in w["counters"]:
        rec["items_per_s"] = round(w["counters"]["items"] / secs, 1)
    if a.pid:
        st = proc_status(a.pid)
        rec["vmhwm_kb"] = st.get("VmHWM")
        rec["vmrss_kb"] = st.get("VmRSS")
    if a.note:
        rec["note"] = a.note
    if a.phase:
        rec["phase"] = a.phase
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    e = w["errors"]
    bad = e["connect"] + e["read"] + e["write"] + e["timeout"]
    print(f"  {a.scenario:<28} {a.backend:<9} {rec['rps']:>10.0f} req/s  p50 {rec['p50_ms']:.2f} ms"
          f"  p99 {rec['p99_ms']:.2f} ms  non-2xx/3xx {e['status']}  socket errors {bad}"
          + (f"  acked {rec['acked_per_s']:.0f}/s" if "acked_per_s" in rec else "")
          + (f"  items {rec['items_per_s']:.0f}/s {w['counters']}" if "items_per_s" in rec else "")
          + (f"  VmHWM {rec['vmhwm_kb'] / 1024:.1f} MB" if rec.get("vmhwm_kb") else ""),
          flush=True)


def cmd_startup(a):
    """Start the binary on an already-migrated database, poll /readyz every 2 ms, take the median."""
    times = []
    port = int(a.base.rsplit(":", 1)[1])
    for _ in range(a.repeat):
        t0 = time.monotonic()
        p = subprocess.Popen([a.binary, "serve"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        ready = None
        try:
            while time.monotonic() - t0 < 10:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/readyz")
                    r = c.getresponse()
                    r.read()
                    c.close()
                    if r.status == 200:
                        ready = time.monotonic() - t0
                        break
                except OSError:
                    pass
                time.sleep(0.002)
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=35)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        times.append(None if ready is None else round(ready * 1000, 1))
        time.sleep(0.2)
    ok = [t for t in times if t is not None]
    rec = {"scenario": "startup_to_ready", "backend": a.backend, "runs_ms": times,
           "median_ms": statistics.median(ok) if ok else None}
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"  {'startup_to_ready':<28} {a.backend:<9} median {rec['median_ms']} ms  runs {times}",
          flush=True)


# The statement a GET of one project sends (`live_version!` in src/crud.rs; its text is pinned by
# the unit test `pg_statement_is_what_diesel_sends`), here with the id written in.
GET_STATEMENT = ('SELECT "projects"."version" FROM "projects" WHERE (("projects"."id" = \'{}\') '
                 'AND ("projects"."deleted_at" IS NULL))')


def cmd_pgceiling(a):
    """PostgreSQL alone answering a GET's one statement, as fast as 8 clients can ask (pgbench,
    prepared, one thread like wrk's): the ceiling of any GET that asks the database once."""
    ids = [l.split()[0] for l in open(a.ids_file) if l.strip()][:100]  # pgbench takes 128 scripts
    os.makedirs(a.dir, exist_ok=True)
    args = ["pgbench", "-n", "-M", "prepared", "-c", str(a.clients), "-j", "1", "-T", str(a.duration)]
    for i, id_ in enumerate(ids):
        path = os.path.join(a.dir, f"get-{i}.sql")
        with open(path, "w") as f:
            f.write(GET_STATEMENT.format(id_) + ";\n")
        args += ["-f", path]
    out = subprocess.run(args + [a.db], capture_output=True, text=True, check=True).stdout
    tps = next(float(l.split("=")[1].split()[0]) for l in out.splitlines() if l.startswith("tps ="))
    rec = {"scenario": "pg_get_statement_ceiling", "backend": "postgres", "clients": a.clients,
           "duration_s": a.duration, "statements_per_s": round(tps, 1)}
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"  {'pg_get_statement_ceiling':<28} {'postgres':<9} {tps:>10.0f} statements/s (pgbench, "
          f"{a.clients} clients, no HTTP)", flush=True)


def cmd_meta(a):
    """Append a free-form record (seeding, prepare output, log counts) to results.jsonl."""
    rec = json.loads(a.json)
    with open(a.results, "a") as f:
        f.write(json.dumps(rec) + "\n")


def machine():
    m = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    m["mem_total_mb"] = int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        m["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        pass
    return m


TARGETS = """
Targets (issue 7):"""


def fmt(x, nd=0):
    return "-" if x is None else f"{x:.{nd}f}"


def cmd_report(a):
    recs = [json.loads(l) for l in open(a.results) if l.strip()]
    runs = [r for r in recs if "rps" in r]
    base = [r for r in runs if r["backend"] == "bare"]
    bare = statistics.mean(r["rps"] for r in base) if base else None
    for r in runs:
        r["ratio_to_bare"] = round(r["rps"] / bare, 4) if bare else None
        if "acked_per_s" in r and bare:
            r["acked_ratio_to_bare"] = round(r["acked_per_s"] / bare, 4)
    meta = json.loads(a.meta)
    meta["machine"] = machine()
    meta["bare_rps_mean"] = bare
    out = {"meta": meta, "records": recs}

    # the table
    lines = []
    hdr = f"{'scenario':<30} {'backend':<9} {'conns':>5} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'x bare':>7} {'VmHWM MB':>9} {'non2xx':>7}"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in runs:
        rps = r.get("acked_per_s", r["rps"])
        ratio = r.get("acked_ratio_to_bare", r.get("ratio_to_bare"))
        name = r["scenario"] + (" (acked)" if "acked_per_s" in r else "")
        hwm = r.get("vmhwm_kb")
        lines.append(f"{name:<30} {r['backend']:<9} {r['connections']:>5} {rps:>9.0f} {r['p50_ms']:>7.2f} "
                     f"{r['p99_ms']:>7.2f} {fmt(ratio, 3):>7} {fmt(hwm / 1024 if hwm else None, 1):>9} "
                     f"{r['errors']['status']:>7}")
    for r in recs:
        if r.get("scenario") == "pg_get_statement_ceiling":
            lines.append(f"{'pg_get_statement_ceiling':<30} {r['backend']:<9} {r['clients']:>5} "
                         f"{r['statements_per_s']:>9.0f} {'':>7} {'':>7} "
                         f"{fmt(r['statements_per_s'] / bare if bare else None, 3):>7}")
        if r.get("scenario") == "startup_to_ready":
            lines.append(f"{'startup_to_ready (median)':<30} {r['backend']:<9} {'':>5} {'':>9} "
                         f"{fmt(r['median_ms'], 1):>7} ms  runs {r['runs_ms']}")

    # the targets
    def find(s, b, log="warn"):
        for r in runs:
            if r["scenario"] == s and r["backend"] == b and r.get("log", "warn") == log:
                return r
        return None

    checks = []
    backends = sorted({r["backend"] for r in runs if r["backend"] != "bare"})
    for b in backends:
        g = find("get_project", b)
        if g:
            checks.append((b, "GET one record >= 40% of bare, p99 < 2 ms",
                           g["ratio_to_bare"] >= 0.40 and g["p99_ms"] < 2,
                           f"{g['ratio_to_bare']:.1%} of bare, p99 {g['p99_ms']:.2f} ms"))
        gp = find("get_project_paced", b)
        if g and gp:
            checks.append((b, "(GET one record below saturation, 8 connections pausing 1 ms)", None,
                           f"{gp['rps']:.0f} req/s, p50 {gp['p50_ms']:.2f} ms, p99 {gp['p99_ms']:.2f} ms; "
                           f"the bare handler's own p99 at saturation: "
                           + " / ".join(f"{r['p99_ms']:.2f}" for r in base) + " ms"))
        l = find("list_activities_50_status", b)
        if l:
            checks.append((b, "list 50 with a filter >= 15% of bare, p99 < 5 ms",
                           l["ratio_to_bare"] >= 0.15 and l["p99_ms"] < 5,
                           f"{l['ratio_to_bare']:.1%} of bare, p99 {l['p99_ms']:.2f} ms"))
        p1 = find("list_projects_20_page1", b)
        if p1:
            checks.append((b, "list 20 projects >= 18 000 req/s", p1["rps"] >= 18000,
                           f"{p1['rps']:.0f} req/s"))
        w = find("post_activity", b)
        if w:
            ok_rps = w["rps"] if w["errors"]["status"] == 0 else None
            checks.append((b, "writes >= 2 000 acknowledged/s with 16 writers (POST)",
                           ok_rps is not None and ok_rps >= 2000,
                           f"{w['rps']:.0f} req/s, non-2xx {w['errors']['status']}"))
        pa = find("patch_project_if_match", b)
        if pa:
            # The same target for the other kind of write, with as many writers.
            checks.append((b, f"writes >= 2 000 acknowledged/s with {pa['connections']} writers (PATCH If-Match)",
                           pa["acked_per_s"] >= 2000 and pa["connections"] >= 16,
                           f"{pa['acked_per_s']:.0f} acked/s, 412s {pa['counters'].get('stale')}"))
        p2 = find("list_projects_page_n", b)
        if p1 and p2:
            slow = p1["rps"] / p2["rps"]
            checks.append((b, "page N no slower than 1.2x page 1",
                           slow <= 1.2, f"page {p2.get('note', '?')}: {slow:.2f}x page 1 time per request"))
        su = find("sync_unchanged", b)
        if su:
            ok = su["counters"].get("unchanged") == su["counters"].get("items") and su["counters"].get("other") == 0
            checks.append((b, "sync: unchanged items >= 10 000/s (16 batches of 100 at once)",
                           ok and su["items_per_s"] >= 10000,
                           f"{su['items_per_s']:.0f} items/s, results {su['counters']}"))
        sc = find("sync_changed", b)
        if sc:
            ok = sc["counters"].get("updated") == sc["counters"].get("items") and sc["counters"].get("other") == 0
            checks.append((b, "sync: changed items >= 2 000/s (16 batches of 100 at once)",
                           ok and sc["items_per_s"] >= 2000,
                           f"{sc['items_per_s']:.0f} items/s, results {sc['counters']}"))
        us, l50 = find("updated_since_50", b), find("list_projects_50_page1", b)
        if us and l50:
            slow = l50["rps"] / us["rps"]
            checks.append((b, "an updated_since page <= 1.2x a first list page of the same size",
                           slow <= 1.2, f"{slow:.2f}x ({us['rps']:.0f} vs {l50['rps']:.0f} req/s)"))
        f = find("changes_500", b)
        if f:
            eps = f["rps"] * 500
            checks.append((b, "feed replay >= 100 000 events/s", eps >= 100000,
                           f"{eps:.0f} events/s"))
        reads = [r for r in runs if r["backend"] == b and r.get("phase") == "read" and r.get("vmhwm_kb")]
        if reads:
            hwm = max(r["vmhwm_kb"] for r in reads) / 1024
            checks.append((b, f"peak RSS < 40 MB during the read runs (scale {meta.get('scale')})",
                           hwm < 40, f"VmHWM {hwm:.1f} MB"))
        ceiling = next((r for r in recs if r.get("scenario") == "pg_get_statement_ceiling"
                        and r["backend"] == b), None)
        if g and ceiling and bare:
            checks.append((b, "(PostgreSQL alone answering the GET's statement, pgbench, 8 clients)", None,
                           f"{ceiling['statements_per_s']:.0f}/s = {ceiling['statements_per_s'] / bare:.1%} "
                           f"of bare; GET one record reaches {g['rps'] / ceiling['statements_per_s']:.0%} of it"))
        gi = find("get_project", b, "info")
        if g and gi:
            checks.append((b, "(info access log costs on GET one record)", None,
                           f"{gi['rps']:.0f} vs {g['rps']:.0f} req/s with warn ({gi['rps'] / g['rps']:.0%})"))
        for r in recs:
            if r.get("scenario") == "startup_to_ready" and r["backend"] == b and r["median_ms"] is not None:
                checks.append((b, "start-up to ready /readyz < 150 ms", r["median_ms"] < 150,
                               f"median {r['median_ms']} ms"))
    lines.append("")
    lines.append(f"bare actix-web baseline: {fmt(bare)} req/s (mean of {len(base)} runs: "
                 + ", ".join(f"{r['rps']:.0f}" for r in base) + ")")
    lines.append("")
    lines.append("targets:")
    for b, what, ok, detail in checks:
        mark = "info" if ok is None else ("MET " if ok else "MISSED")
        lines.append(f"  [{mark:<6}] {b:<9} {what}: {detail}")
    out["targets"] = [{"backend": b, "target": w, "met": ok, "measured": d} for b, w, ok, d in checks]
    text = "\n".join(lines)
    out["table"] = text
    with open(a.json_out, "w") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(text)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ids", type=int, default=1000)
    p.add_argument("--ids-file", required=True)
    p.add_argument("--page", type=int, default=2000)
    p = sub.add_parser("sync-prepare")
    for k in ("--base", "--token", "--unchanged-file", "--changed-file"):
        p.add_argument(k, required=True)
    p.add_argument("--unchanged", type=int, default=1000)
    p = sub.add_parser("record")
    for k in ("--scenario", "--backend", "--wrk-out", "--results", "--url"):
        p.add_argument(k, required=True)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--log", default="warn")
    p.add_argument("--pid")
    p.add_argument("--note")
    p.add_argument("--phase")
    p = sub.add_parser("startup")
    for k in ("--base", "--binary", "--backend", "--results"):
        p.add_argument(k, required=True)
    p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("pgceiling")
    for k in ("--db", "--ids-file", "--dir", "--results"):
        p.add_argument(k, required=True)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration", type=int, default=10)
    p = sub.add_parser("meta")
    p.add_argument("--results", required=True)
    p.add_argument("--json", required=True)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.add_argument("--json-out", required=True)
    p.add_argument("--meta", required=True)
    a = ap.parse_args()
    {"prepare": cmd_prepare, "sync-prepare": cmd_sync_prepare, "record": cmd_record, "startup": cmd_startup,
     "pgceiling": cmd_pgceiling, "meta": cmd_meta, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
