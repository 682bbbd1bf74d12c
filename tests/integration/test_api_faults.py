"""The simulator answers 429 (with Retry-After), 500, 503, malformed, truncated and wrong-typed
pages and drops connections; the agent retries, counts the errors, and still delivers every id
exactly once."""

import collections
import os

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: debug, format: json }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-faults
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    page_size: 50
    max_requests_per_sec: 1000
    timeout_secs: 5
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def main(args):
    with h.Workdir("faults") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-faults",
                          extra=["--backlog", "3000", "--span-secs", "86400", "--seed", "3"])
        agent = None
        try:
            expected = sim.ids()
            sim.fault("429", count=2, retry_after_secs=1)
            sim.fault("500", count=2)
            sim.fault("503", count=1)
            sim.fault("malformed", count=2)
            sim.fault("truncated", count=1)
            sim.fault("wrong_types", count=1)
            sim.fault("missing_data", count=1)
            sim.fault("drop_connection", count=1)
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out))
            agent = h.Agent(args.build_dir, work, cfg)
            h.wait_until(lambda: len(h.read_ndjson_ids(out)) >= len(expected) if os.path.exists(out)
                         else False, 300, "every event despite faults")
            got = h.read_ndjson_ids(out)
            counts = collections.Counter(got)
            assert set(got) == set(expected), "ids differ"
            assert max(counts.values()) == 1, "duplicates"
            stats = sim.stats()
            print("simulator stats:", stats)
            text = h.scrape(port)
            errors = h.metric_value(text, "siem_agent_component_errors_total", component_id="openai")
            assert errors is not None and errors >= 8, f"pull errors counted: {errors}"
            r429 = h.metric_value(text, "siem_agent_http_client_requests_total",
                                  component_id="openai", status="429")
            assert r429 == 2, f"429 responses counted: {r429}"
            assert agent.process.stop() == 0
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
