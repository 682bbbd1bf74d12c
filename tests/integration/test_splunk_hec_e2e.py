"""End to end: simulator -> agent -> loopback HEC receiver, 20,000 audit events, with busy, 500,
502, 429, dropped connections, partial 503s and partial code-6 answers injected on the way.

Every audit-log id must end up indexed exactly once, or (for the events the receiver refused with
code 6) dead-lettered, never both; the events before a partial failure must not be sent again;
the metrics must account for every event and every failure."""

import collections
import os
import re

import harness as h
import hec_fake

EVENTS = 20_000
SINK = "splunk"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 20
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-e2e
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 3h
    lookback_secs: 60
    max_requests_per_sec: 1000
sinks:
  {sink}:
    type: splunk_hec
    encoding: ocsf
    endpoint: {endpoint}
    token: {token}
    index: "oai_{{ocsf_class}}"
    fields: {{ event_type: "{{type}}", outcome: "{{outcome}}" }}
    concurrency: 2
    batch: {{ max_events: 500, timeout_ms: 200 }}
    retry: {{ initial_backoff_ms: 20, max_backoff_secs: 1 }}
routes:
  - name: everything
    from: ["*"]
    to: [{sink}]
"""

# One burst of faults; each unit answers one event request, in this order.
BURST = [
    ("busy", {}),
    ("500", {}),
    ("drop_connection", {}),
    ("429", {"retry_after_secs": 1}),
    ("502", {}),
    ("busy", {"invalid_event_number": 7}),
    ("invalid_event", {"invalid_event_number": 3}),
    ("drop_connection", {}),
    ("busy", {}),
]
CODE6_PER_BURST = sum(1 for kind, _ in BURST if kind == "invalid_event")


def main(args):
    with h.Workdir("hec-e2e") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-e2e",
                          extra=["--backlog", str(EVENTS), "--span-secs", "7200", "--seed", "11"])
        rx = hec_fake.HecReceiver(args.build_dir, work)
        agent = None
        try:
            expected = set(sim.ids())
            assert len(expected) > EVENTS * 0.9, len(expected)
            for kind, extra in BURST:
                rx.fault(kind, **extra)

            port = h.free_port()
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, sink=SINK, endpoint=rx.url,
                token=rx.token))
            agent = h.Agent(args.build_dir, work, cfg)

            # A second burst once the run is well under way.
            h.wait_until(lambda: rx.events_total() >= len(expected) // 3, 300,
                         "a third of the events indexed")
            for kind, extra in BURST:
                rx.fault(kind, **extra)

            def settled():
                dead = set(hec_fake.dead_letter_ids(data, SINK))
                return expected <= set(rx.ids()) | dead

            h.wait_until(settled, 600, "every id indexed or dead-lettered", interval=0.5)
            h.wait_until(lambda: rx.stats()["faults_pending"] == 0, 60, "every fault served")

            events = rx.events()
            ids = [h.event_id(e["event"]) for e in events]
            counts = collections.Counter(ids)
            dead = hec_fake.dead_letter_ids(data, SINK)
            duplicates = {i: c for i, c in counts.items() if c > 1}
            assert not duplicates, f"{len(duplicates)} ids indexed twice, e.g. {list(duplicates)[:3]}"
            assert set(counts) <= expected, "ids the simulator does not have"
            assert len(dead) == len(set(dead)) == 2 * CODE6_PER_BURST, dead
            assert not (set(dead) & set(counts)), "dead-lettered and indexed"
            assert set(counts) | set(dead) == expected

            # What HEC got looks like what the configuration asked for.
            channels = {e["channel"] for e in events}
            assert len(channels) == 1 and re.fullmatch(
                r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                channels.pop()), channels
            for e in events:
                ocsf = e["event"]
                assert e["sourcetype"] == "ocsf:openai:audit", e
                assert e["source"] == "siem-agent:openai", e
                assert e["index"].startswith("oai_"), e
                assert round(e["time"] * 1000) == ocsf["time"], (e["time"], ocsf["time"])
                assert e["fields"]["event_type"] == ocsf["metadata"]["event_code"], e["fields"]
                assert e["fields"]["outcome"] in ("success", "failure", "unknown"), e["fields"]
            assert {e["index"] for e in events} >= {"oai_authentication"}

            stats = rx.stats()
            assert stats["faults_served_total"] == 2 * len(BURST), stats
            assert stats["gzip_requests_total"] == stats["event_requests_total"], stats

            def metric(name, **labels):
                return hec_fake.sink_metric(port, name, SINK, **labels)

            h.wait_until(lambda: metric("siem_agent_component_sent_events_total") == len(counts),
                         30, "sent_events_total to match what was indexed")
            assert metric("siem_agent_dead_letter_events_total") == len(dead)
            # A dropped connection that had served earlier requests is retried once by libcurl
            # itself (nothing was answered, so nothing was indexed); only a drop on a fresh
            # connection reaches the sink as a "connection" error.
            drops = sum(1 for kind, _ in BURST if kind == "drop_connection")
            retries = metric("siem_agent_component_retries_total")
            assert retries >= 2 * (len(BURST) - drops), retries
            for error_type, at_least in [("hec_busy", 6), ("http_5xx", 4), ("http_429", 2),
                                         ("invalid_data", 2)]:
                got = metric("siem_agent_component_errors_total", error_type=error_type)
                assert got >= at_least, (error_type, got)
            assert metric("siem_agent_buffer_events") == 0
            assert metric("siem_agent_splunk_pending_acks") == 0
            assert metric("siem_agent_http_client_requests_total", status="200") > 0

            rc = agent.process.stop(timeout=60)
            assert rc == 0, f"exit code {rc}"
            print(f"indexed {len(counts)} ids once, dead-lettered {len(dead)}, "
                  f"{stats['event_requests_total']} requests, {stats['faults_served_total']} faults")
        finally:
            if agent:
                agent.close()
            rx.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
