"""Two organizations in one agent: two simulators, one source each (own key, cursor file, rate
budget and organization_id label). Phase 1: org B's key is revoked; org A still delivers
everything, /readyz answers 503 naming only source org_b, and A's metrics carry its organization
label. Phase 2: org B is in a 429 storm (Retry-After: 1) while org A backfills; A completes while
B is still refused, then B completes once the storm ends. Prints the durations."""

import json
import os
import time

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  org_a:
    type: openai_audit_logs
    api_key_file: {key_a}
    organization_id: org-aaa
    base_url: {url_a}
    poll_interval_secs: 1
    start_at: 48h
    max_requests_per_sec: 200
  org_b:
    type: openai_audit_logs
    api_key_file: {key_b}
    organization_id: org-bbb
    base_url: {url_b}
    poll_interval_secs: 1
    start_at: 48h
    max_requests_per_sec: 200
sinks:
  a:
    type: file
    encoding: raw
    path: {out}/a.ndjson
    batch: {{ max_events: 500, timeout_ms: 100 }}
  b:
    type: file
    encoding: raw
    path: {out}/b.ndjson
    batch: {{ max_events: 500, timeout_ms: 100 }}
routes:
  - name: org-a
    from: [org_a]
    to: [a]
  - name: org-b
    from: [org_b]
    to: [b]
"""

KEY_A = "sk-admin-org-a-4d1c9e"
KEY_B = "sk-admin-org-b-7a20f3"
REVOKED_B = "sk-admin-org-b-revoked-55e1"


def write(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    return path


def ids_in(path):
    try:
        return set(h.read_ndjson_ids(os.path.dirname(path), os.path.basename(path)))
    except (OSError, ValueError):
        return set()


def run_phase(args, work, name, key_b, faults_b, check):
    os.makedirs(work)
    sim_a = h.Simulator(args.build_dir, work, admin_key=KEY_A,
                        extra=["--backlog", "20000", "--span-secs", "86400", "--seed", "101"],
                        name="openai_sim_a")
    sim_b = h.Simulator(args.build_dir, work, admin_key=KEY_B,
                        extra=["--backlog", "5000", "--span-secs", "86400", "--seed", "202"],
                        name="openai_sim_b")
    assert sim_a.url != sim_b.url
    agent = None
    try:
        for kind, count, extra in faults_b:
            sim_b.fault(kind, count=count, **extra)
        port = h.free_port()
        out = os.path.join(work, "out")
        cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
            data=os.path.join(work, "data"), port=port, out=out, url_a=sim_a.base_url,
            url_b=sim_b.base_url, key_a=write(os.path.join(work, "a.key"), KEY_A),
            key_b=write(os.path.join(work, "b.key"), key_b)))
        agent = h.Agent(args.build_dir, work, cfg, name=f"agent-{name}")
        check(sim_a, sim_b, agent, port, work, out)
        assert agent.process.stop() == 0
        logs = agent.process.stderr()
        for key in (KEY_A, KEY_B, REVOKED_B):
            assert key not in logs, "a key appeared in the logs"
    finally:
        if agent:
            agent.close()
        sim_a.close()
        sim_b.close()


def revoked_key(sim_a, sim_b, agent, port, work, out):
    expected_a = set(sim_a.ids())
    started = time.monotonic()
    h.wait_until(lambda: ids_in(os.path.join(out, "a.ndjson")) >= expected_a, 120,
                 "every event of org A")
    took = time.monotonic() - started

    def not_ready():
        status, body = h.readyz(port)
        return (status, body) if status == 503 and "org_b" in (body or "") else None

    status, body = h.wait_until(not_ready, 60, "/readyz to name source org_b")
    reasons = json.loads(body)["reasons"]
    assert any("source org_b" in r and "Admin API key" in r for r in reasons), reasons
    assert not any("org_a" in r for r in reasons), reasons
    assert REVOKED_B not in body and KEY_B not in body

    text = h.scrape(port)
    got = h.metric_value(text, "siem_agent_component_received_events_total",
                         component_id="org_a", organization_id="org-aaa")
    assert got == len(expected_a), (got, len(expected_a))
    lag = h.metric_value(text, "siem_agent_source_lag_seconds", component_id="org_a",
                         organization_id="org-aaa")
    assert lag is not None and lag < 120, lag
    assert h.metric_value(text, "siem_agent_checkpoint_timestamp_seconds", component_id="org_a",
                          organization_id="org-aaa") > time.time() - 120
    assert h.metric_value(text, "siem_agent_audit_events_total", component_id="org_a",
                          organization_id="org-aaa", outcome="failure") > 0
    unauthorized = h.metric_value(text, "siem_agent_component_errors_total",
                                  component_id="org_b", organization_id="org-bbb",
                                  error_type="unauthorized")
    assert unauthorized and unauthorized >= 1, unauthorized
    assert not h.metric_value(text, "siem_agent_component_received_events_total",
                              component_id="org_b")
    assert not os.path.exists(os.path.join(out, "b.ndjson")) or not ids_in(
        os.path.join(out, "b.ndjson"))
    print(f"revoked key on org B: org A delivered {len(expected_a)} events in {took:.1f} s; "
          f"/readyz: {reasons}")


def rate_limit_storm(sim_a, sim_b, agent, port, work, out):
    expected_a = set(sim_a.ids())
    started = time.monotonic()
    h.wait_until(lambda: ids_in(os.path.join(out, "a.ndjson")) >= expected_a, 120,
                 "every event of org A during org B's 429 storm")
    took_a = time.monotonic() - started
    stats_b = sim_b.stats()
    assert stats_b["faults_pending"] > 0, "org B's storm ended before org A completed"
    assert not ids_in(os.path.join(out, "b.ndjson")), "org B got through its storm"
    text = h.scrape(port)
    r429 = h.metric_value(text, "siem_agent_http_client_requests_total", component_id="org_b",
                          organization_id="org-bbb", status="429")
    assert r429 and r429 >= 1, r429
    assert h.readyz(port)[0] == 200, "a 429 storm is not an authorization problem"

    h.sim_clear_faults(sim_b)
    expected_b = set(sim_b.ids())
    h.wait_until(lambda: ids_in(os.path.join(out, "b.ndjson")) >= expected_b, 120,
                 "every event of org B after the storm")
    took_b = time.monotonic() - started
    got_a = h.read_ndjson_ids(out, "a.ndjson")
    got_b = h.read_ndjson_ids(out, "b.ndjson")
    assert len(got_a) == len(expected_a) and len(got_b) == len(expected_b), "duplicates"
    print(f"429 storm on org B ({r429:.0f} refusals, Retry-After 1 s): org A delivered "
          f"{len(expected_a)} events in {took_a:.1f} s; org B {len(expected_b)} after its storm "
          f"({took_b:.1f} s from start)")


def main(args):
    with h.Workdir("multi-org") as work:
        run_phase(args, os.path.join(work, "revoked"), "revoked", REVOKED_B, [], revoked_key)
        run_phase(args, os.path.join(work, "storm"), "storm", KEY_B,
                  [("429", 10_000, {"retry_after_secs": 1})], rate_limit_storm)


if __name__ == "__main__":
    h.run_main(main)
