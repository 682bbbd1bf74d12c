"""Indexer acknowledgement end to end: simulator -> agent -> loopback HEC receiver with acks on.

Phase 1: acks arrive late, and three requests' acks are lost for good. Every audit-log id must be
indexed at least once; the duplicates are exactly the events of the requests whose acks were
lost (resent after ack_timeout_secs), and the pending-acks gauge drains to zero.
Phase 2: while acks are pending, the token's acknowledgement is switched off (/ack answers code
14): the sink must fall back to "200 means delivered", say so, and lose nothing."""

import collections
import os

import harness as h
import hec_fake

EVENTS = 5_000
LOST = 3
SINK = "splunk"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 20
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-ack
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
    indexer_ack: true
    ack_timeout_secs: 2
    ack_poll_interval_ms: 100
    concurrency: 4
    batch: {{ max_events: 200, timeout_ms: 100 }}
    retry: {{ initial_backoff_ms: 20, max_backoff_secs: 1 }}
routes:
  - name: everything
    from: ["*"]
    to: [{sink}]
"""


def main(args):
    with h.Workdir("hec-ack") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-ack",
                          extra=["--backlog", str(EVENTS), "--span-secs", "7200", "--seed", "17"])
        rx = hec_fake.HecReceiver(args.build_dir, work, extra=["--ack", "--ack-delay-ms", "150"])
        agent = None
        try:
            rx.fault("lose_acks", count=LOST)
            expected = set(sim.ids())
            port = h.free_port()
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, sink=SINK, endpoint=rx.url,
                token=rx.token))
            agent = h.Agent(args.build_dir, work, cfg)
            hec_fake.wait_agent_up(port)

            def metric(name, **labels):
                return hec_fake.sink_metric(port, name, SINK, **labels)

            h.wait_until(lambda: metric("siem_agent_splunk_pending_acks") > 0, 60,
                         "a request awaiting its acknowledgement")
            h.wait_until(lambda: metric("siem_agent_component_sent_events_total") >= len(expected),
                         300, "every event acknowledged", interval=0.2)
            h.wait_until(lambda: metric("siem_agent_splunk_pending_acks") == 0, 30,
                         "no pending acks")

            events = rx.events()
            counts = collections.Counter(h.event_id(e["event"]) for e in events)
            assert set(counts) == expected, "missing or unknown ids"
            extra_copies = sum(c - 1 for c in counts.values())
            lost = [e for e in events if e["ack_lost"]]
            stats = rx.stats()
            assert stats["acks_lost_total"] == LOST, stats
            # Each event of a request whose ack was lost was sent again once, and only those.
            assert extra_copies == len(lost) > 0, (extra_copies, len(lost))
            assert {h.event_id(e["event"]) for e in lost} == {i for i, c in counts.items() if c > 1}
            assert all(e["ack_id"] is not None for e in events)
            assert metric("siem_agent_component_sent_events_total") == len(expected)
            assert metric("siem_agent_component_errors_total", error_type="ack_timeout") >= 1
            assert metric("siem_agent_dead_letter_events_total") == 0
            assert stats["acks_confirmed_total"] == stats["acks_issued_total"] - LOST, stats
            print(f"phase 1: {len(expected)} ids, {extra_copies} duplicates from {LOST} lost acks, "
                  f"{stats['ack_requests_total']} ack queries")

            # Phase 2: acks that never come, then acknowledgement disabled on the token.
            rx.settings(ack_delay_ms=3_600_000)
            sim.generate(300)
            fresh = set(sim.ids()) - expected
            assert len(fresh) == 300
            h.wait_until(lambda: metric("siem_agent_splunk_pending_acks") > 0, 60,
                         "new requests awaiting acknowledgement")
            sent_before = metric("siem_agent_component_sent_events_total")
            assert sent_before == len(expected), "delivered before the ack"
            rx.settings(ack=False)
            h.wait_until(lambda: metric("siem_agent_component_sent_events_total")
                         >= len(expected) + len(fresh), 60, "fallback to 200 = delivered")
            h.wait_until(lambda: "ACK is disabled" in agent.process.stderr(), 10,
                         "the fallback warning")
            assert fresh <= set(rx.ids())
            assert metric("siem_agent_splunk_pending_acks") == 0
            assert metric("siem_agent_dead_letter_events_total") == 0

            rc = agent.process.stop(timeout=60)
            assert rc == 0, f"exit code {rc}"
        finally:
            if agent:
                agent.close()
            rx.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
