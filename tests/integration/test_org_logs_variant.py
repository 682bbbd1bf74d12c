"""The seed variant end to end: simulator (`/v1/organization_logs`) -> agent with
`api: organization_logs` -> file sink.

* a backlog arrives exactly once, in the variant's (ingestion) order, tenant-scoped events included;
* events added while the agent runs arrive, also late ones with an old created_at;
* bad input (truncated page, has_more with empty data, a page that ends at its own cursor) is
  counted in errors_total, retried with backoff from the same cursor, and loses or repeats nothing;
* SIGTERM commits the cursor and a restart sends nothing again;
* SIGKILL mid-stream, several times: after restarts every id is present (duplicates are printed).
"""

import collections
import json
import os
import random
import signal
import urllib.request

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api: organization_logs
    api_key: ${{TEST_ADMIN_KEY}}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    page_size: {page_size}
    max_requests_per_sec: 1000
    timeout_secs: 5
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 100, timeout_ms: 50 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""

KEY = "sk-admin-variant-0123456789"
ENV = {"TEST_ADMIN_KEY": KEY}
# What each injected fault is counted as (errors_total{error_type}).
FAULTS = (("truncated", "connection"), ("has_more_empty", "malformed_page"),
          ("loop_cursor", "cursor_loop"))
# The test's own listings use this page size, so the simulator's request log tells them apart
# from the agent's (page_size 100 or 50).
OWN_LIMIT = 97


def variant_ids(sim):
    """Every id the variant lists, oldest ingested first (what a complete consumer must get)."""
    ids, after = [], None
    while True:
        url = f"{sim.base_url}/organization_logs?order=asc&limit={OWN_LIMIT}"
        if after:
            url += f"&after={after}"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            page = json.loads(r.read())
        ids += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            return ids
        after = page["last_id"]


def complete_ids(out):
    """Ids of the complete lines of the sink's file (a line torn by SIGKILL is ignored)."""
    path = os.path.join(out, "events.ndjson")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")[:-1]
    ids = []
    for line in lines:
        try:
            ids.append(h.event_id(json.loads(line)))
        except ValueError:
            pass  # torn by SIGKILL; the event is re-sent after the restart
    return ids


def read_checkpoint(data):
    path = os.path.join(data, "checkpoints", "openai.organization_logs.json")
    with open(path, "rb") as f:
        header, payload = f.read().split(b"\n", 1)
    assert header.startswith(b"siem-agent-checkpoint v1 "), header
    return json.loads(payload)


def metric(port, name, **labels):
    return h.metric_value(h.scrape(port), name, component_id="openai", **labels) or 0.0


def up(port):
    try:
        return h.http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
    except OSError:
        return False


def wait_for(out, expected, what, timeout=120):
    h.wait_until(lambda: len(complete_ids(out)) >= len(expected), timeout, what)
    return complete_ids(out)


def check_bad_input(sim, agent, port, out):
    """Each fault twice, while the agent polls at the end of the log; then new events arrive."""
    for kind, error_type in FAULTS:
        errors_before = metric(port, "siem_agent_component_errors_total", error_type=error_type)
        retries_before = metric(port, "siem_agent_component_retries_total")
        sim.fault(kind, count=2)
        h.wait_until(lambda: sim.stats()["faults_pending"] == 0, 60, f"the {kind} faults served")
        sim.generate(5)
        expected = variant_ids(sim)
        got = wait_for(out, expected, f"new events after {kind}")
        assert got == expected, f"after {kind}: {len(got)} lines for {len(expected)} ids"
        errors = metric(port, "siem_agent_component_errors_total", error_type=error_type)
        assert errors - errors_before >= 2, f"{kind}: errors_total{{{error_type}}} {errors}"
        retries = metric(port, "siem_agent_component_retries_total")
        assert retries - retries_before >= 2, f"{kind}: retries {retries - retries_before}"
        # The cursor did not move past a bad page: the request after each one asked again from
        # the same position.
        status, body = h.http_get(f"{sim.url}/_sim/requests?limit=200")
        assert status == 200
        requests = [r for r in json.loads(body)["requests"]
                    if r["endpoint"] == "organization_logs"
                    and f"limit={OWN_LIMIT}" not in r["target"]]
        faulted = [i for i, r in enumerate(requests) if r["fault"] == kind]
        assert len(faulted) == 2, (kind, requests[-10:])
        for i in faulted:
            assert i + 1 < len(requests), f"no request after the {kind} fault"
            assert requests[i + 1]["target"] == requests[i]["target"], (
                f"{kind}: the retry moved the cursor: {requests[i]['target']} -> "
                f"{requests[i + 1]['target']}")
    logs = agent.process.stderr()
    assert "looping cursor" in logs, "the looping cursor was not logged"
    assert "has_more is true but data is empty" in logs, "has_more with empty data not logged"


def scenario_delivery_restart_and_faults(args):
    with h.Workdir("org-logs") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "5000", "--span-secs", "86400", "--seed", "5"])
        agent = None
        try:
            expected = variant_ids(sim)
            # The variant lists everything, tenant-scoped events included.
            assert len(expected) == 5000 and len(expected) > len(sim.ids()), len(expected)
            port = h.free_port()
            out = os.path.join(work, "out")
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, out=out, page_size=100))
            agent = h.Agent(args.build_dir, work, cfg, env=ENV)

            got = wait_for(out, expected, f"{len(expected)} events in the file sink", 300)
            assert got == expected, (
                f"{len(got)} lines for {len(expected)} ids; first difference at "
                f"{next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)}")
            status, body = h.http_get(f"http://127.0.0.1:{port}/readyz")
            assert status == 200, (status, body)
            assert metric(port, "siem_agent_component_received_events_total") == len(expected)

            # Events added while running, one with a created_at a day old: after the cursor.
            sim.generate(40)
            sim.generate(1, at=int(sim.stats()["oldest_effective_at"]))
            expected = variant_ids(sim)
            got = wait_for(out, expected, "the events added while running")
            assert got == expected, "events added while running are missing or out of order"

            check_bad_input(sim, agent, port, out)
            expected = variant_ids(sim)

            rc = agent.process.stop(timeout=30)
            assert rc == 0, f"exit code {rc} after SIGTERM"
            cp = read_checkpoint(data)
            assert cp["api"] == "organization_logs" and cp["last_id"] == expected[-1], cp
            assert KEY not in agent.process.stderr(), "the admin key appeared in the logs"

            # A restart resumes after the committed id: nothing is sent twice.
            agent.close()
            agent = h.Agent(args.build_dir, work, cfg, name="agent2", env=ENV)
            h.wait_until(lambda: up(port), 60, "the restarted agent")
            sim.generate(30)
            expected = variant_ids(sim)
            got = wait_for(out, expected, "the events after the restart")
            h.wait_until(lambda: metric(port, "siem_agent_component_received_events_total") >= 30,
                         30, "the restarted agent's count")
            assert got == expected, f"{len(got)} lines for {len(expected)} ids after a restart"
            received = metric(port, "siem_agent_component_received_events_total")
            assert received == 30, f"the restarted agent pulled {received} events, not 30"
            assert agent.process.stop(timeout=30) == 0
        finally:
            if agent:
                agent.close()
            sim.close()


def scenario_sigkill(args):
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    with h.Workdir("org-logs-kill") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "15000", "--span-secs", "86400", "--seed", "9"])
        agent = None
        try:
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out,
                page_size=50))
            kills = 0
            for round_no in range(4):
                agent = h.Agent(args.build_dir, work, cfg, name=f"agent{round_no}", env=ENV)
                total = len(variant_ids(sim))
                target = min(total - 1, len(complete_ids(out)) + rng.randint(500, 3000))
                h.wait_until(lambda: len(complete_ids(out)) >= target, 120,
                             f"{target} events before the kill")
                agent.process.signal(signal.SIGKILL)
                agent.process.wait(timeout=10)
                agent.close()
                kills += 1
                sim.generate(rng.randint(1, 50))  # more arrive while the agent is down
            agent = h.Agent(args.build_dir, work, cfg, name="agent-final", env=ENV)
            expected = variant_ids(sim)
            h.wait_until(lambda: set(complete_ids(out)) >= set(expected), 300,
                         "every id after the restarts")
            got = complete_ids(out)
            missing = set(expected) - set(got)
            assert not missing, f"{len(missing)} ids lost"
            assert not set(got) - set(expected), "ids the simulator does not hold"
            first_seen = list(dict.fromkeys(got))
            assert first_seen == expected, "first deliveries are not in the variant's order"
            dups = sum(c - 1 for c in collections.Counter(got).values() if c > 1)
            print(f"{kills} SIGKILLs; {len(got)} lines for {len(expected)} ids; {dups} duplicates "
                  f"(re-sent uncommitted tail)")
            assert agent.process.stop(timeout=30) == 0
        finally:
            if agent:
                agent.close()
            sim.close()


def main(args):
    scenario_delivery_restart_and_faults(args)
    scenario_sigkill(args)


if __name__ == "__main__":
    h.run_main(main)
