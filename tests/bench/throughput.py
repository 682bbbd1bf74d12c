#!/usr/bin/env python3
"""End-to-end throughput: the OpenAI simulator with a large backlog -> siem-agent -> file sink.

Prints events/s, the agent's CPU seconds and its peak RSS. A benchmark, not a test: it asserts
only that every event arrived.

    python3 tests/bench/throughput.py --build-dir build [--events 1000000] [--encoding raw|ocsf|ecs]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness as h  # noqa: E402

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: warn, format: json }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-bench
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: {start_at}
    lookback_secs: 300
    page_size: 100
    max_requests_per_sec: 1000
sinks:
  archive:
    type: file
    encoding: {encoding}
    path: {out}/events-%Y-%m-%d.ndjson
    batch: {{ max_events: 2000, max_bytes: 4000000, timeout_ms: 200 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return cpu, peak


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--span-days", type=int, default=30)
    p.add_argument("--encoding", default="raw")
    args = p.parse_args()

    with h.Workdir("throughput") as work:
        span = args.span_days * 86400
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-bench",
                          extra=["--backlog", str(args.events), "--span-secs", str(span)])
        agent = None
        try:
            # Tenant-scoped events are not returned by the default (tenant_only=false) query.
            total = len(sim.ids())
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url,
                start_at=f"{args.span_days + 1}d", encoding=args.encoding, out=out))
            start = time.monotonic()
            agent = h.Agent(args.build_dir, work, cfg)
            pid = agent.process.proc.pid

            def sent():
                if not agent.process.alive():
                    raise AssertionError("the agent exited:\n" + agent.process.stderr())
                try:
                    return h.metric_value(h.scrape(port), "siem_agent_component_sent_events_total",
                                          component_id="archive") or 0
                except OSError:
                    return 0

            h.wait_until(lambda: sent() >= total, 1800, f"{total} events", interval=0.2)
            elapsed = time.monotonic() - start
            cpu, peak = proc_stats(pid)
            agent.process.stop()
            print(f"events: {total} (of a {args.events} backlog)  encoding: {args.encoding}")
            print(f"wall: {elapsed:.1f} s  throughput: {total / elapsed:,.0f} events/s")
            print(f"agent CPU: {cpu:.1f} s ({total / cpu:,.0f} events per CPU-second)")
            print(f"agent peak RSS: {peak / 1048576:.1f} MiB")
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    main()
