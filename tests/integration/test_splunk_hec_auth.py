"""Operator-facing failures of the HEC sink: wrong, rotated and disabled tokens, and the start-up
health check. Events are held (never dead-lettered) while /readyz says what is wrong, and flow
again, exactly once, as soon as the problem is fixed, without a restart."""

import collections
import os

import harness as h
import hec_fake

SINK = "splunk"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 5
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-auth
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 3h
    lookback_secs: 60
    max_requests_per_sec: 1000
sinks:
  {sink}:
    type: splunk_hec
    endpoint: {endpoint}
    {token_line}
    batch: {{ max_events: 100, timeout_ms: 100 }}
    retry: {{ initial_backoff_ms: 50, max_backoff_secs: 1 }}
routes:
  - name: everything
    from: ["*"]
    to: [{sink}]
"""


def start_agent(args, work, name, sim, rx, token_line):
    port = h.free_port()
    data = os.path.join(work, f"data-{name}")
    cfg = h.write_config(os.path.join(work, f"{name}.yaml"), CONFIG.format(
        data=data, port=port, base_url=sim.base_url, sink=SINK, endpoint=rx.url,
        token_line=token_line))
    agent = h.Agent(args.build_dir, work, cfg, name=name)
    hec_fake.wait_agent_up(port)
    return agent, port, data


def readyz_mentions(port, *words):
    status, body = hec_fake.ready(port)
    return status == 503 and all(w in body for w in words) and body


def held_not_lost(port, data, rx):
    assert rx.events_total() == 0, "indexed while refused"
    assert hec_fake.sink_metric(port, "siem_agent_dead_letter_events_total", SINK) == 0
    assert not hec_fake.dead_letter_ids(data, SINK)
    assert hec_fake.sink_metric(port, "siem_agent_buffer_events", SINK) > 0


def main(args):
    with h.Workdir("hec-auth") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-auth",
                          extra=["--backlog", "300", "--span-secs", "3600", "--seed", "29"])
        rx = hec_fake.HecReceiver(args.build_dir, work)
        agent = None
        try:
            expected = set(sim.ids())

            # A wrong token in token_file, then the right one written to the same file.
            token_file = os.path.join(work, "hec-token")
            with open(token_file, "w") as f:
                f.write("00000000-0000-0000-0000-000000000000\n")
            agent, port, data = start_agent(args, work, "agent-rotate", sim, rx,
                                            f"token_file: {token_file}")
            body = h.wait_until(lambda: readyz_mentions(port, SINK, "code 4 (Invalid token)"), 60,
                                "/readyz to report the refused token")
            assert "Invalid token" in body, body
            assert "00000000-0000" not in body and "00000000-0000" not in agent.process.stderr()
            held_not_lost(port, data, rx)
            with open(token_file, "w") as f:
                f.write(rx.token + "\n")
            h.wait_until(lambda: expected <= set(rx.ids()), 60, "events after the rotation")
            assert max(collections.Counter(rx.ids()).values()) == 1
            h.wait_until(lambda: hec_fake.ready(port)[0] == 200, 30, "/readyz to recover")
            assert "token_file changed" in agent.process.stderr()
            assert agent.process.stop(timeout=60) == 0
            agent.close()
            agent = None
            rx.stop()
            rx.start()

            # HEC unhealthy (queues full, busy) at start-up, then the token disabled, both fixed
            # on the Splunk side.
            before = len(rx.ids())
            rx.settings(health_code=18)
            rx.fault("busy", count=0)
            agent, port, data = start_agent(args, work, "agent-disabled", sim, rx,
                                            f"token: {rx.token}")
            h.wait_until(lambda: readyz_mentions(port, SINK, "queues are full"), 60,
                         "/readyz to report the health check")
            assert "HEC health check" in agent.process.stderr()
            rx.settings(disabled_tokens=[rx.token])
            rx.clear_faults()
            h.wait_until(lambda: readyz_mentions(port, SINK, "code 1 (Token disabled)"), 60,
                         "/readyz to report the disabled token")
            assert len(rx.ids()) == before
            rx.settings(health_code=17, disabled_tokens=[])
            h.wait_until(lambda: len(rx.ids()) >= before + len(expected), 60,
                         "events after the token was enabled")
            counts = collections.Counter(rx.ids()[before:])
            assert set(counts) == expected and max(counts.values()) == 1
            h.wait_until(lambda: hec_fake.ready(port)[0] == 200, 30, "/readyz to recover")
            assert hec_fake.sink_metric(port, "siem_agent_dead_letter_events_total", SINK) == 0
            assert hec_fake.sink_metric(port, "siem_agent_component_errors_total", SINK,
                                        error_type="auth") >= 1
            assert agent.process.stop(timeout=60) == 0
        finally:
            if agent:
                agent.close()
            rx.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
