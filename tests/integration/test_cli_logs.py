"""`siem-agent logs list|get|export` against the simulator: an export of a range is exactly the
simulator's set for that range, ascending, without duplicates, in NDJSON, CSV (parsed with the csv
module) and OCSF, and stays complete when a 429 and a 500 are injected; `logs get` finds an id by
scanning and reports one it cannot find; `list` honours --limit, --type, ranges and every format;
a wrong key exits 1 without the key in any output; usage and configuration errors exit 2 and 78;
an interrupted export to a file leaves no file behind.

A source with `api: organization_logs` (the seed variant, listed in ingestion order, no filters):
the export of a range is exactly the simulator's set for it (tenant-scoped logs included), once,
ascending by (created_at, id) although late-indexed logs were ingested last, sorted on disk in
runs that are removed afterwards, and complete through a 500; `list` is most recently ingested
first and filters the range and --type itself; `get` is one GET by id, and a missing id is one
404 and exit 1."""

import csv
import io
import json
import os
import signal
import subprocess
import time
import urllib.request

import harness as h

KEY = "sk-admin-cli-logs-5d1e0c7a9b"
WRONG_KEY = "sk-admin-cli-wrong-77aa31c0de"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:0" }}
sources:
{sources}
sinks:
  archive: {{ type: file, encoding: raw, path: {out} }}
routes:
  - {{ name: everything, from: ["*"], to: [archive] }}
"""

SOURCE = """  {name}:
    type: openai_audit_logs
    api_key: {key}
    organization_id: org-cli
    base_url: {base_url}
    page_size: 100
    max_requests_per_sec: 1000
    max_window_events: 100
    timeout_secs: 5
{extra}"""

CSV_COLUMNS = ["id", "effective_at", "time", "type", "outcome", "actor_type", "actor_id",
               "actor_email", "project_id", "raw"]


def run(binary, *argv, timeout=300):
    return subprocess.run([binary, *argv], capture_output=True, text=True, timeout=timeout)


def expect_ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout[-2000:], r.stderr[-4000:])


def write(work, name, sim, sources=(("openai", KEY, ""),)):
    text = "".join(SOURCE.format(name=n, key=k, base_url=sim.base_url, extra=extra)
                   for n, k, extra in sources)
    return h.write_config(os.path.join(work, name), CONFIG.format(
        data=os.path.join(work, "data"), sources=text, out=os.path.join(work, "archive.ndjson")))


def expected_ascending(sim, since, until):
    rows = [line.split("\t") for line in sim.ids(gte=since, lt=until, format="tsv")]
    rows.sort(key=lambda r: (int(r[1]), r[0]))
    return [r[0] for r in rows], {r[0]: int(r[1]) for r in rows}


def read_lines(path):
    with open(path, "rb") as f:
        return [line for line in f.read().decode("utf-8").split("\n") if line]


def check_exports(binary, cfg, sim, work, since, until):
    expected, times = expected_ascending(sim, since, until)
    assert len(expected) > 1000, f"too few events in the range for a meaningful test: {len(expected)}"

    # NDJSON to a file: the original objects, ascending, exactly the simulator's set.
    out = os.path.join(work, "export.ndjson")
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ndjson", "--output", out)
    expect_ok(r)
    objects = [json.loads(line) for line in read_lines(out)]
    got = [o["id"] for o in objects]
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicates"
    assert got == expected, (f"export differs: {len(got)} vs {len(expected)}, missing "
                             f"{len(set(expected) - set(got))}, extra {len(set(got) - set(expected))}")
    assert all(o["effective_at"] == times[o["id"]] for o in objects)
    assert f"exported {len(expected)} audit logs" in r.stderr, r.stderr
    assert not os.path.exists(out + ".partial")
    assert r.stdout == "", "data went to stdout although --output was given"

    # CSV, parsed with the csv module: documented header, same rows, raw column is the object.
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "csv")
    expect_ok(r)
    rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert rows[0] == CSV_COLUMNS, rows[0]
    body = rows[1:]
    assert [row[0] for row in body] == expected
    for row in body:
        assert len(row) == len(CSV_COLUMNS), row
        raw = json.loads(row[9])
        assert raw["id"] == row[0] and raw["type"] == row[3], row
        assert int(row[1]) == raw["effective_at"] == times[row[0]]
        assert row[2].endswith("Z") and row[4] in ("success", "failure", "unknown"), row

    # OCSF: one JSON object per line, metadata.uid = the audit-log id, same order.
    out = os.path.join(work, "export.ocsf.ndjson")
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ocsf", "-o", out)
    expect_ok(r)
    ocsf = [json.loads(line) for line in read_lines(out)]
    assert [o["metadata"]["uid"] for o in ocsf] == expected
    assert all(isinstance(o.get("class_uid"), int) and o["time"] == times[o["metadata"]["uid"]] * 1000
               for o in ocsf)
    return expected


def check_faults(binary, cfg, sim, since, until, expected):
    served = sim.stats()["faults_served_total"]
    sim.fault("429", count=1, retry_after_secs=1)
    sim.fault("500", count=1)
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ndjson")
    expect_ok(r)
    got = [json.loads(line)["id"] for line in r.stdout.splitlines() if line]
    assert got == expected, "export with a 429 and a 500 is not complete and ordered"
    assert sim.stats()["faults_served_total"] == served + 2
    assert "HTTP 429" in r.stderr and "HTTP 500" in r.stderr, r.stderr
    assert "2 retries" in r.stderr, r.stderr


def check_get(binary, cfg, sim, expected):
    wanted = expected[len(expected) // 2]
    r = run(binary, "logs", "get", wanted, "--config", cfg, "--since", "30h")
    expect_ok(r)
    obj = json.loads(r.stdout)
    assert obj["id"] == wanted
    assert r.stdout.count("\n") > 3, "not pretty-printed"
    assert "no get-by-id" in r.stderr, r.stderr

    r = run(binary, "logs", "get", wanted, "--config", cfg, "--since", "30h", "--format", "raw")
    expect_ok(r)
    assert json.loads(r.stdout)["id"] == wanted

    missing = "audit_log-0000000000000000"
    r = run(binary, "logs", "get", missing, "--config", cfg, "--since", "30h")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"{missing} not found in" in r.stderr and r.stdout == "", r.stderr


def check_list(binary, cfg, sim, since, until):
    newest = sim.ids()
    # Default: a table of the newest 20, newest first, columns aligned.
    r = run(binary, "logs", "list", "--config", cfg)
    expect_ok(r)
    lines = r.stdout.splitlines()
    assert len(lines) == 21, lines
    header = lines[0]
    assert header.split() == ["TIME", "TYPE", "ACTOR", "OUTCOME", "PROJECT", "ID"], header
    id_col = header.index("ID")
    type_col = header.index("TYPE")
    assert [line[id_col:] for line in lines[1:]] == newest[:20]
    for line in lines[1:]:
        assert line[type_col - 2:type_col] == "  " and line[type_col] != " ", line
        assert line[:20].endswith("Z") and line[20:type_col].strip() == "", line

    # json: one array of the original objects.
    r = run(binary, "logs", "list", "--config", cfg, "--limit", "7", "--format", "json")
    expect_ok(r)
    array = json.loads(r.stdout)
    assert [o["id"] for o in array] == newest[:7]

    # ndjson over a range: the whole range, newest first.
    r = run(binary, "logs", "list", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ndjson")
    expect_ok(r)
    got = [json.loads(line)["id"] for line in r.stdout.splitlines()]
    assert got == sim.ids(gte=since, lt=until)

    # --type is the server-side filter (repeatable).
    r = run(binary, "logs", "list", "--config", cfg, "--type", "login.failed", "--type",
            "api_key.created", "--limit", "15", "--format", "csv")
    expect_ok(r)
    rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert rows[0] == CSV_COLUMNS
    assert {row[3] for row in rows[1:]} <= {"login.failed", "api_key.created"}
    wanted = (set(sim.ids(**{"event_types[]": "login.failed"})) |
              set(sim.ids(**{"event_types[]": "api_key.created"})))
    both = [i for i in newest if i in wanted]
    assert [row[0] for row in rows[1:]] == both[:15]
    targets = [q["target"] for q in json.loads(h.http_get(f"{sim.url}/_sim/requests?limit=5")[1])
               ["requests"]]
    assert any("event_types%5B%5D=login.failed&event_types%5B%5D=api_key.created" in t
               for t in targets), targets

    # Empty range: nothing on stdout, a note on stderr.
    r = run(binary, "logs", "list", "--config", cfg, "--since", "1000", "--until", "2000")
    expect_ok(r)
    assert r.stdout == "" and "no audit logs" in r.stderr


def check_errors(binary, work, sim):
    # Wrong key: exit 1, the reason, never the key.
    cfg = write(work, "wrong.yaml", sim, sources=(("openai", WRONG_KEY, ""),))
    for argv in (["logs", "list"], ["logs", "get", "audit_log-1"],
                 ["logs", "export", "--since", "1h", "--format", "ndjson"]):
        r = run(binary, *argv, "--config", cfg, timeout=60)
        assert r.returncode == 1, (argv, r.returncode, r.stderr)
        assert "Admin API key" in r.stderr, r.stderr
        assert WRONG_KEY not in r.stdout + r.stderr and KEY not in r.stdout + r.stderr

    # Two sources: --source is required, and the ids are listed.
    cfg = write(work, "two.yaml", sim, sources=(("org_a", KEY, ""), ("org_b", KEY, "")))
    r = run(binary, "logs", "list", "--config", cfg)
    assert r.returncode == 2 and "org_a" in r.stderr and "org_b" in r.stderr, r.stderr
    r = run(binary, "logs", "list", "--config", cfg, "--source", "org_c")
    assert r.returncode == 2 and "org_c" in r.stderr and "org_a" in r.stderr, r.stderr
    r = run(binary, "logs", "list", "--config", cfg, "--source", "org_b", "--limit", "2",
            "--format", "ndjson")
    expect_ok(r)
    assert len(r.stdout.splitlines()) == 2

    # Usage errors.
    r = run(binary, "logs", "list", "--config", cfg, "--source", "org_a", "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr, r.stderr
    r = run(binary, "logs", "export", "--config", cfg, "--source", "org_a", "--format", "ndjson")
    assert r.returncode == 2, r.returncode  # --since is required
    r = run(binary, "logs", "export", "--config", cfg, "--source", "org_a", "--since", "1h",
            "--format", "xml")
    assert r.returncode == 2, r.returncode
    r = run(binary, "logs", "list", "--config", cfg, "--source", "org_a", "--since", "1h",
            "--until", "2h")
    assert r.returncode == 2 and "empty" in r.stderr, r.stderr

    # Configuration errors exit 78 like validate.
    bad = h.write_config(os.path.join(work, "bad.yaml"), "sources: {x: {type: nope}}\n")
    r = run(binary, "logs", "list", "--config", bad)
    assert r.returncode == 78, (r.returncode, r.stderr)


def check_interrupt(binary, cfg, sim, work, since, until):
    out = os.path.join(work, "interrupted.ndjson")
    sim.fault("slow", count=100, delay_ms=300)
    proc = subprocess.Popen([binary, "logs", "export", "--config", cfg, "--since", str(since),
                             "--until", str(until), "--format", "ndjson", "--output", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        h.wait_until(lambda: os.path.exists(out + ".partial"), 60, "the partial export file")
        h.wait_until(lambda: sim.stats()["faults_served_total"] > 0, 60, "a first slow page")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    h.http_post(f"{sim.url}/_sim/clear?what=faults")
    assert proc.returncode == 1, (proc.returncode, err)
    assert "interrupted" in err, err
    assert not os.path.exists(out) and not os.path.exists(out + ".partial"), os.listdir(work)


def variant_listing(sim, order):
    """Every (id, created_at, event) the variant lists in `order` (asc: oldest ingested first)."""
    rows, after = [], None
    while True:
        url = f"{sim.base_url}/organization_logs?order={order}&limit=100"
        if after:
            url += f"&after={after}"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            page = json.loads(resp.read())
        rows += [(e["id"], e["created_at"], e["event"]) for e in page["data"]]
        if not page["has_more"]:
            return rows
        after = page["last_id"]


def last_targets(sim, n):
    return [q["target"] for q in json.loads(h.http_get(f"{sim.url}/_sim/requests?limit={n}")[1])
            ["requests"]]


def check_variant(binary, work, sim, since, until):
    # Late-indexed logs: ingested after the whole backlog, created inside the range.
    for at in (since + 60, since + 3600, until - 10):
        sim.generate(3, at=at)
    cfg = write(work, "seed.yaml", sim, sources=(("seed", KEY, "    api: organization_logs\n"),))
    rows = [line.split("\t") for line in sim.ids(gte=since, lt=until, tenant_only="all",
                                                 format="tsv")]
    times = {r[0]: int(r[1]) for r in rows}
    expected = [r[0] for r in sorted(rows, key=lambda r: (int(r[1]), r[0]))]
    ingested = variant_listing(sim, "asc")
    assert [i for i, _, _ in ingested if i in times] != expected, \
        "the late-indexed logs should make ingestion order differ from time order"
    assert len(expected) > 1000, len(expected)

    # Export: exactly the simulator's set, once, ascending by (created_at, id), sorted on disk
    # (max_window_events 100) beside the output, and nothing of the sort left behind.
    out = os.path.join(work, "seed-export.ndjson")
    before = sim.stats()["organization_log_requests_total"]
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ndjson", "--output", out)
    expect_ok(r)
    objects = [json.loads(line) for line in read_lines(out)]
    got = [o["id"] for o in objects]
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} duplicates"
    assert got == expected, (f"variant export differs: {len(got)} vs {len(expected)}, missing "
                             f"{len(set(expected) - set(got))}, extra {len(set(got) - set(expected))}")
    assert all(o["created_at"] == times[o["id"]] for o in objects)
    assert any(o["event"].startswith("tenant.") for o in objects), "no tenant-scoped log exported"
    assert f"exported {len(expected)} audit logs" in r.stderr, r.stderr
    assert "the whole log was read" in r.stderr and "on disk in" in r.stderr, r.stderr
    pages = sim.stats()["organization_log_requests_total"] - before
    assert pages == (len(ingested) + 99) // 100, (pages, len(ingested))
    assert not [f for f in os.listdir(work) if f.startswith(".siem-agent-sort")], os.listdir(work)
    assert all("order=asc" in t for t in last_targets(sim, 3)), last_targets(sim, 3)

    # CSV: the same rows, effective_at is created_at.
    sim.fault("500", count=1)
    r = run(binary, "logs", "export", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "csv")
    expect_ok(r)
    rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert rows[0] == CSV_COLUMNS, rows[0]
    assert [row[0] for row in rows[1:]] == expected, "CSV export through a 500 differs"
    assert all(int(row[1]) == times[row[0]] for row in rows[1:])
    assert "HTTP 500" in r.stderr and "1 retries" in r.stderr, r.stderr

    # list: most recently ingested first (the late-indexed logs on top), filtered here.
    newest = variant_listing(sim, "desc")
    r = run(binary, "logs", "list", "--config", cfg, "--format", "ndjson")
    expect_ok(r)
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == \
        [i for i, _, _ in newest[:20]]
    assert "most recently ingested first" in r.stderr, r.stderr
    r = run(binary, "logs", "list", "--config", cfg, "--since", str(since), "--until", str(until),
            "--format", "ndjson")
    expect_ok(r)
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == \
        [i for i, t, _ in newest if since <= t < until]
    assert "left out here" in r.stderr, r.stderr
    r = run(binary, "logs", "list", "--config", cfg, "--type", "login.failed", "--limit", "7",
            "--format", "csv")
    expect_ok(r)
    rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
    assert [row[0] for row in rows[1:]] == [i for i, _, e in newest if e == "login.failed"][:7]
    assert all("event_types" not in t and "order=desc" in t for t in last_targets(sim, 2))

    # get: one GET by id, the late-indexed log included; a missing id is one 404 and exit 1.
    for wanted in (expected[len(expected) // 2], newest[0][0]):
        r = run(binary, "logs", "get", wanted, "--config", cfg)
        expect_ok(r)
        assert json.loads(r.stdout)["id"] == wanted and r.stdout.count("\n") > 3
        assert "no get-by-id" not in r.stderr, r.stderr
        assert last_targets(sim, 1) == [f"/v1/organization_logs/{wanted}"], last_targets(sim, 1)
    before = sim.stats()["requests_total"]
    missing = "audit_log-0000000000000000"
    r = run(binary, "logs", "get", missing, "--config", cfg, "--format", "raw")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert f"{missing} not found" in r.stderr and r.stdout == "", r.stderr
    assert sim.stats()["requests_total"] == before + 1
    assert last_targets(sim, 1) == [f"/v1/organization_logs/{missing}"]


def main(args):
    binary = h.agent_binary(args.build_dir)
    with h.Workdir("cli-logs") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "6000", "--span-secs", "86400", "--seed", "21"])
        try:
            cfg = write(work, "agent.yaml", sim)
            now = int(time.time())
            since, until = now - 20 * 3600, now - 2 * 3600
            expected = check_exports(binary, cfg, sim, work, since, until)
            check_faults(binary, cfg, sim, since, until, expected)
            check_get(binary, cfg, sim, expected)
            check_list(binary, cfg, sim, since, until)
            check_errors(binary, work, sim)
            check_interrupt(binary, cfg, sim, work, since, until)
            check_variant(binary, work, sim, since, until)
        finally:
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
