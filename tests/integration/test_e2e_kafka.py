"""Simulator (20,000+ events) -> agent -> Kafka (librdkafka's mock cluster, 3 brokers), with
retryable produce errors injected and a broker taken down and brought back mid-run. Read back with
kcat: every id present, key = id = the OCSF metadata.uid, headers on every message; nothing
dead-lettered; per-partition counts and duplicates printed."""

import json
import os

import harness as h
import kafka_util

TOTAL = 20000
# Tenant-scoped events (about 6 %) are outside the source's default query; this backlog leaves
# at least TOTAL events in it.
BACKLOG = 21400
TOPIC = "siem.audit"
KEY = "sk-admin-e2e-kafka"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: {key}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    max_requests_per_sec: 20
sinks:
  kafka:
    type: kafka
    encoding: ocsf
    brokers: [{brokers}]
    topic: {topic}
    compression: lz4
    message_timeout_ms: 3000
    batch: {{ max_events: 500, timeout_ms: 100 }}
    retry: {{ initial_backoff_ms: 100, max_backoff_secs: 2 }}
    concurrency: 2
routes:
  - name: everything
    from: ["*"]
    to: [kafka]
"""


def main(args):
    kcat = kafka_util.require_kcat()
    with h.Workdir("e2e-kafka") as work:
        mock = kafka_util.KafkaMock(args.build_dir, work, brokers=3, topics=[f"{TOPIC}:4:3"])
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", str(BACKLOG), "--span-secs", "86400", "--seed", "17"])
        agent = None
        try:
            expected = set(sim.ids())
            assert len(expected) >= TOTAL, len(expected)
            port = h.free_port()
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, key=KEY, base_url=sim.base_url,
                brokers=", ".join(f'"{b}"' for b in mock.brokers), topic=TOPIC))
            agent = h.Agent(args.build_dir, work, cfg)

            def metric(name, **labels):
                try:
                    return h.metric_value(h.scrape(port), name, **labels) or 0
                except OSError:
                    return 0

            def sent():
                return metric("siem_agent_component_sent_events_total", component_id="kafka")

            # Retryable produce errors (and one forced disconnect), retried inside librdkafka.
            h.wait_until(lambda: sent() >= 3000, 120, "3,000 events delivered")
            mock.push_errors(["NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT",
                              "NOT_LEADER_FOR_PARTITION", "_TRANSPORT"], repeat=5)

            # Broker 2 leads some partitions; while it is down their messages time out
            # (message_timeout_ms) and the driver sends them again.
            h.wait_until(lambda: sent() >= 8000, 120, "8,000 events delivered")
            retries0 = metric("siem_agent_component_retries_total", component_id="kafka")
            mock.broker_down(2)
            # On a loaded machine the backlog can drain before the outage bites; then there is
            # nothing to retry, and the no-loss checks below still apply.
            h.wait_until(lambda: metric("siem_agent_component_retries_total",
                                        component_id="kafka") > retries0
                         or sent() >= len(expected),
                         60, "a retry while broker 2 is down, or the backlog drained")
            print("retries during the broker outage:",
                  metric("siem_agent_component_retries_total", component_id="kafka") - retries0)
            sent_during_outage = sent()
            mock.broker_up(2)

            h.wait_until(lambda: sent() >= len(expected), 300, f"{len(expected)} events delivered")
            messages = kafka_util.consume(kcat, mock.bootstrap, TOPIC)
            keys = {m.key for m in messages}
            missing = expected - keys
            assert not missing, f"{len(missing)} ids missing from Kafka"
            assert keys == expected, f"{len(keys - expected)} unexpected keys"
            for m in messages:
                assert h.event_id(json.loads(m.value)) == m.key, "key is not the event's id"
                assert m.headers.get("encoding") == "ocsf", m.headers
                assert m.headers.get("source_id") == "openai", m.headers
                assert m.headers.get("event_type"), m.headers
            per_partition, duplicates = kafka_util.summarize(messages)

            text = h.scrape(port)
            assert h.metric_value(text, "siem_agent_component_sent_events_total",
                                  component_id="kafka") == len(expected)
            assert (h.metric_value(text, "siem_agent_dead_letter_events_total",
                                   component_id="kafka") or 0) == 0
            retries = h.metric_value(text, "siem_agent_component_retries_total",
                                     component_id="kafka") or 0
            print(f"{len(messages)} messages for {len(expected)} ids; duplicates: {duplicates}; "
                  f"per partition: {per_partition}; driver retries: {retries:.0f}; "
                  f"delivered when broker 2 came back: {sent_during_outage:.0f}")
            assert len(per_partition) == 4, per_partition

            rc = agent.process.stop(timeout=30)
            assert rc == 0, f"exit code {rc} after SIGTERM"
        finally:
            if agent:
                agent.close()
            sim.close()
            mock.close()


if __name__ == "__main__":
    h.run_main(main)
