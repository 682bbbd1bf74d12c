"""Simulator (20,000 events of mixed types) -> agent -> file sink: exactly the simulator's id set,
each once; /healthz, /readyz, promtool-valid /metrics with the right counts; SIGTERM exits 0 with
the cursor committed, and a restart sends nothing again."""

import collections
import os
import shutil
import subprocess

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: json }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: ${{TEST_ADMIN_KEY}}
    organization_id: org-test
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    max_requests_per_sec: 1000
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events-%Y-%m-%d.ndjson
    batch: {{ max_events: 500, timeout_ms: 100 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""

KEY = "sk-admin-e2e-0123456789abcdef"


def main(args):
    with h.Workdir("e2e-file") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "20000", "--span-secs", "86400", "--seed", "7"])
        agent = None
        try:
            # The default query (tenant_only=false) sees every event but the tenant-scoped ones.
            expected = sim.ids()
            assert 15000 < len(expected) <= 20000, len(expected)
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out))
            env = {"TEST_ADMIN_KEY": KEY}
            agent = h.Agent(args.build_dir, work, cfg, env=env)

            def delivered():
                try:
                    return len(h.read_ndjson_ids(out)) >= len(expected)
                except (OSError, ValueError):
                    return False

            h.wait_until(delivered, 300, f"{len(expected)} events in the file sink")
            got = h.read_ndjson_ids(out)
            counts = collections.Counter(got)
            dups = sum(c - 1 for c in counts.values() if c > 1)
            assert set(got) == set(expected), (
                f"missing {len(set(expected) - set(got))}, unexpected {len(set(got) - set(expected))}")
            assert dups == 0, f"{dups} duplicates in a run without faults"

            status, body = h.http_get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200, (status, body)
            status, body = h.http_get(f"http://127.0.0.1:{port}/readyz")
            assert status == 200, (status, body)

            text = h.scrape(port)
            sent = h.metric_value(text, "siem_agent_component_sent_events_total", component_id="archive")
            assert sent == len(expected), sent
            received = h.metric_value(text, "siem_agent_component_received_events_total",
                                      component_id="openai")
            assert received == len(expected), received
            assert KEY not in text
            promtool = shutil.which("promtool")
            assert promtool, "promtool (Debian package prometheus) is required"
            metrics_file = os.path.join(work, "metrics.txt")
            with open(metrics_file, "w") as f:
                f.write(text)
            check = subprocess.run([promtool, "check", "metrics"], stdin=open(metrics_file),
                                   capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr

            rc = agent.process.stop(timeout=30)
            assert rc == 0, f"exit code {rc} after SIGTERM"
            cp = os.path.join(work, "data", "checkpoints", "openai.json")
            assert os.path.exists(cp), "no checkpoint after a graceful stop"
            logs = agent.process.stderr()
            assert KEY not in logs, "the admin key appeared in the logs"

            # A restart resumes from the cursor: nothing is sent twice.
            agent.close()
            agent = h.Agent(args.build_dir, work, cfg, name="agent2", env=env)
            h.wait_until(lambda: h.metric_value(h.scrape(port) if _up(port) else "",
                                                "siem_agent_checkpoint_timestamp_seconds") is not None,
                         60, "the restarted agent to serve metrics")
            sim.generate(50)
            total = len(sim.ids())
            h.wait_until(lambda: len(h.read_ndjson_ids(out)) >= total, 60, "the new events")
            got = h.read_ndjson_ids(out)
            assert len(got) == len(set(got)) == total, (len(got), len(set(got)), total)
            rc = agent.process.stop(timeout=30)
            assert rc == 0, rc
        finally:
            if agent:
                agent.close()
            sim.close()


def _up(port):
    try:
        return h.http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    h.run_main(main)
