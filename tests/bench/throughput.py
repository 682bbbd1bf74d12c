#!/usr/bin/env python3
"""End-to-end throughput: the OpenAI simulator with a large backlog -> siem-agent -> file sink.

Prints events/s, the agent's CPU seconds and its peak RSS, and the simulator's CPU seconds while
the agent ran (it shares the machine). A benchmark, not a test: it asserts
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
    max_requests_per_sec: 10000
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
            meter = h.CpuMeter(sim=sim.process.proc.pid)
            start = time.monotonic()
            agent = h.Agent(args.build_dir, work, cfg)
            pid = agent.process.proc.pid
            h.wait_for_sent(agent, port, "archive", total)
            elapsed = time.monotonic() - start
            cpu, peak = h.process_stats(pid)
            sim_cpu = meter.used("sim")
            sim_requests = sim.stats()["requests_total"]
            agent.process.stop()
            print(f"events: {total} (of a {args.events} backlog)  encoding: {args.encoding}")
            print(f"wall: {elapsed:.1f} s  throughput: {total / elapsed:,.0f} events/s")
            print(f"agent CPU: {cpu:.1f} s ({total / cpu:,.0f} events per CPU-second)")
            print(f"agent peak RSS: {peak / 1048576:.1f} MiB")
            print(f"simulator: {sim_requests} requests, CPU {sim_cpu:.1f} s")
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    main()
