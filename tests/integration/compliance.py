"""The compliance suite every sink passes (STYLE: "delivered, retried then delivered, rejected ->
dead letter, receiver down then up, with the metric deltas asserted").

A sink's test provides an adapter:

    class Adapter:
        name = "splunk_hec"                  # the sink type
        def start(self, work): ...           # start the (real or conformant loopback) receiver
        def sink_yaml(self, sink_id): ...    # the sink's YAML mapping (the lines under `sinks:`)
        def delivered_ids(self): ...         # audit-log ids the receiver accepted, duplicates kept
        def fail_retryably(self, on): ...    # while on, the receiver answers with a retryable error
        def reject_permanently(self, on): ...  # while on, the receiver rejects events for good
        def stop_receiver(self): ...
        def start_receiver(self): ...
        def close(self): ...

A method that cannot apply to a sink raises NotImplementedError("why"); that scenario is then
reported as skipped with the reason. `run()` drives the OpenAI simulator and the real agent
through the four scenarios and asserts both what the receiver got and the agent's metrics."""

import collections
import json
import os

import harness as h

SINK_ID = "under_test"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: debug, format: json }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-compliance
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 2h
    lookback_secs: 120
    max_requests_per_sec: 100
sinks:
{sink}
routes:
  - name: everything
    from: ["*"]
    to: [{sink_id}]
"""

# Appended to every adapter's sink so the scenarios run quickly and deterministically.
DRIVER_SETTINGS = """    batch: {{ max_events: 50, timeout_ms: 50 }}
    retry: {{ initial_backoff_ms: 50, max_backoff_secs: 1 }}
    unhealthy_after_secs: 1
"""


class Metrics:
    def __init__(self, port):
        self.port = port

    def get(self, name, **labels):
        value = h.metric_value(h.scrape(self.port), name, **labels)
        return value or 0.0

    def sink(self, name):
        return self.get(name, component_id=SINK_ID)


def run(build_dir, adapter):
    results = []
    with h.Workdir(f"compliance-{adapter.name}") as work:
        sim = h.Simulator(build_dir, work, admin_key="sk-admin-compliance",
                          extra=["--backlog", "300", "--span-secs", "3600", "--seed", "5"])
        agent = None
        try:
            adapter.start(work)
            port = h.free_port()
            data = os.path.join(work, "data")
            sink = adapter.sink_yaml(SINK_ID).rstrip("\n") + "\n" + DRIVER_SETTINGS.format()
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, sink=sink, sink_id=SINK_ID))
            agent = h.Agent(build_dir, work, cfg)
            m = Metrics(port)
            h.wait_until(lambda: _up(port), 60, "the agent's HTTP API")

            expected = set(sim.ids())
            scenario_delivered(adapter, m, expected)
            results.append(("delivered", "ok"))

            for name, fn in [("retried then delivered", scenario_retried),
                             ("rejected -> dead letter", scenario_rejected),
                             ("receiver down then up", scenario_down_up)]:
                try:
                    fn(adapter, m, sim, expected, data)
                    results.append((name, "ok"))
                except NotImplementedError as why:
                    results.append((name, f"skipped: {why}"))

            rc = agent.process.stop(timeout=30)
            assert rc == 0, f"exit code {rc} after SIGTERM"
        finally:
            if agent:
                agent.close()
            adapter.close()
            sim.close()
    for name, verdict in results:
        print(f"compliance[{adapter.name}] {name}: {verdict}")
    return results


def _up(port):
    try:
        return h.http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
    except OSError:
        return False


def _wait_delivered(adapter, ids, what, timeout=120):
    h.wait_until(lambda: ids <= set(adapter.delivered_ids()), timeout, what)


def _new_ids(sim, expected, count):
    sim.generate(count)
    now = set(sim.ids())
    fresh = now - expected
    assert len(fresh) == count, (len(fresh), count)
    expected |= fresh
    return fresh


def scenario_delivered(adapter, m, expected):
    _wait_delivered(adapter, expected, f"{len(expected)} backlog events")
    counts = collections.Counter(adapter.delivered_ids())
    assert set(counts) == expected, "the receiver got ids the simulator does not have"
    assert max(counts.values()) == 1, "duplicates without any fault"
    assert m.sink("siem_agent_component_sent_events_total") == len(expected)
    assert m.sink("siem_agent_dead_letter_events_total") == 0


def scenario_retried(adapter, m, sim, expected, data):
    adapter.fail_retryably(True)
    sent0 = m.sink("siem_agent_component_sent_events_total")
    retries0 = m.sink("siem_agent_component_retries_total")
    errors0 = m.sink("siem_agent_component_errors_total")
    try:
        fresh = _new_ids(sim, expected, 40)
        h.wait_until(lambda: m.sink("siem_agent_component_retries_total") >= retries0 + 2, 60,
                     "retries while the receiver fails")
        assert not (fresh & set(adapter.delivered_ids())), "delivered while failing"
        assert m.sink("siem_agent_component_errors_total") > errors0
    finally:
        adapter.fail_retryably(False)
    _wait_delivered(adapter, fresh, "retried events")
    assert m.sink("siem_agent_component_sent_events_total") == sent0 + len(fresh)
    assert m.sink("siem_agent_dead_letter_events_total") == 0


def scenario_rejected(adapter, m, sim, expected, data):
    adapter.reject_permanently(True)
    dl0 = m.sink("siem_agent_dead_letter_events_total")
    sent0 = m.sink("siem_agent_component_sent_events_total")
    cp0 = m.get("siem_agent_checkpoint_timestamp_seconds", component_id="openai")
    try:
        fresh = _new_ids(sim, expected, 20)
        h.wait_until(lambda: m.sink("siem_agent_dead_letter_events_total") >= dl0 + len(fresh), 60,
                     "dead-lettered events")
    finally:
        adapter.reject_permanently(False)
    assert m.sink("siem_agent_dead_letter_events_total") == dl0 + len(fresh)
    assert m.sink("siem_agent_component_sent_events_total") == sent0
    path = os.path.join(data, "dead_letter", f"{SINK_ID}.ndjson")
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    dead = {line["id"] for line in lines}
    assert fresh <= dead, "dead-letter file lacks rejected ids"
    assert all(line["reason"] for line in lines), "a dead letter without a reason"
    # Dead-lettered events are terminal: the cursor moves past them.
    h.wait_until(lambda: m.get("siem_agent_checkpoint_timestamp_seconds", component_id="openai")
                 > cp0, 30, "the cursor to move past dead-lettered events")


def scenario_down_up(adapter, m, sim, expected, data):
    adapter.stop_receiver()
    errors0 = m.sink("siem_agent_component_errors_total")
    sent0 = m.sink("siem_agent_component_sent_events_total")
    try:
        fresh = _new_ids(sim, expected, 30)
        h.wait_until(lambda: m.sink("siem_agent_component_errors_total") > errors0, 60,
                     "send errors while the receiver is down")
    finally:
        adapter.start_receiver()
    _wait_delivered(adapter, fresh, "events after the receiver came back")
    assert m.sink("siem_agent_component_sent_events_total") == sent0 + len(fresh)
