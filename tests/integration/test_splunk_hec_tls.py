"""HEC over TLS with certificate verification on, against the loopback receiver serving a
certificate made at test time (openssl).

Phase 1: the agent trusts the wrong CA. It must not send anything, say why in its log and in
/readyz, dead-letter nothing and keep its cursor, and exit cleanly.
Phase 2: restarted with the right CA (and tls.server_name, the certificate's DNS name, while
connecting to 127.0.0.1), it delivers every event exactly once."""

import collections
import os
import shutil

import harness as h
import hec_fake

EVENTS = 500
SINK = "splunk"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 5
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-tls
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 3h
    lookback_secs: 60
    max_requests_per_sec: 1000
sinks:
  {sink}:
    type: splunk_hec
    endpoint: {endpoint}
    token: {token}
    tls: {tls}
    batch: {{ max_events: 100, timeout_ms: 100 }}
    retry: {{ initial_backoff_ms: 50, max_backoff_secs: 1 }}
    unhealthy_after_secs: 1
routes:
  - name: everything
    from: ["*"]
    to: [{sink}]
"""


def main(args):
    if shutil.which("openssl") is None:
        print("SKIP: the openssl command is needed to make test certificates")
        raise SystemExit(h.SKIP)
    with h.Workdir("hec-tls") as work:
        pki = hec_fake.Pki(os.path.join(work, "pki"))
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-tls",
                          extra=["--backlog", str(EVENTS), "--span-secs", "3600", "--seed", "23"])
        rx = hec_fake.HecReceiver(args.build_dir, work, tls=pki)
        agent = None
        try:
            expected = set(sim.ids())
            data = os.path.join(work, "data")

            def run(name, tls):
                port = h.free_port()
                cfg = h.write_config(os.path.join(work, f"{name}.yaml"), CONFIG.format(
                    data=data, port=port, base_url=sim.base_url, sink=SINK, endpoint=rx.url,
                    token=rx.token, tls=tls))
                a = h.Agent(args.build_dir, work, cfg, name=name)
                hec_fake.wait_agent_up(port)
                return a, port

            # Phase 1: wrong CA.
            agent, port = run("agent-wrong-ca", f"{{ verify: true, ca_file: {pki.other_ca} }}")
            status, body = h.wait_until(
                lambda: (lambda r: r if r[0] == 503 and SINK in r[1] else None)(
                    hec_fake.ready(port)), 60, "/readyz to report the sink")
            assert "certificate" in body.lower() or "tls" in body.lower() or "ssl" in body.lower(), body
            h.wait_until(lambda: hec_fake.sink_metric(
                port, "siem_agent_component_errors_total", SINK, error_type="tls") >= 2, 60,
                "repeated TLS errors")
            log = agent.process.stderr()
            assert "HEC health check" in log, "the start-up health check did not report"
            assert rx.events_total() == 0
            assert hec_fake.sink_metric(port, "siem_agent_dead_letter_events_total", SINK) == 0
            assert hec_fake.sink_metric(port, "siem_agent_component_sent_events_total", SINK) == 0
            assert hec_fake.sink_metric(port, "siem_agent_buffer_events", SINK) > 0
            rc = agent.process.stop(timeout=60)
            assert rc == 0, f"exit code {rc}"
            agent.close()
            agent = None
            assert rx.events_total() == 0

            # Phase 2: the right CA, addressed by the certificate's name.
            agent, port = run("agent-right-ca",
                              f"{{ verify: true, ca_file: {pki.ca}, server_name: hec.test }}")
            h.wait_until(lambda: expected <= set(rx.ids()), 120, "every event over TLS")
            counts = collections.Counter(rx.ids())
            assert max(counts.values()) == 1, "duplicates"
            assert set(counts) == expected
            h.wait_until(lambda: hec_fake.ready(port)[0] == 200, 30, "/readyz to recover")
            rc = agent.process.stop(timeout=60)
            assert rc == 0, f"exit code {rc}"
        finally:
            if agent:
                agent.close()
            rx.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
