#!/usr/bin/env python3
"""End-to-end throughput: the OpenAI simulator with a large backlog -> siem-agent -> splunk_hec
sink -> the loopback HEC receiver (counting only).

Prints events/s (from the agent's start to the receiver holding every event), the agent's CPU
seconds and peak RSS, and the CPU seconds the receiver and the simulator spent meanwhile. A
benchmark, not a test: it asserts only that every event arrived.

    python3 tests/bench/hec_throughput.py --build-dir build [--events 500000] [--encoding ocsf]
        [--compression gzip|none] [--level 1] [--indexer-ack] [--concurrency 2]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness as h  # noqa: E402
import hec_fake  # noqa: E402

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
  splunk:
    type: splunk_hec
    encoding: {encoding}
    endpoint: {endpoint}
    token: {token}
    compression: {compression}
    compression_level: {level}
    indexer_ack: {ack}
    ack_poll_interval_ms: 100
    concurrency: {concurrency}
    batch: {{ max_events: {batch_events}, max_bytes: 1000000, timeout_ms: 200 }}
    buffer: {{ max_events: 100000, max_bytes: 268435456 }}
routes:
  - name: everything
    from: ["*"]
    to: [splunk]
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--events", type=int, default=500_000)
    p.add_argument("--span-days", type=int, default=30)
    p.add_argument("--encoding", default="ocsf")
    p.add_argument("--compression", default="gzip")
    p.add_argument("--level", type=int, default=1)
    p.add_argument("--indexer-ack", action="store_true")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--batch-events", type=int, default=1000)
    args = p.parse_args()

    with h.Workdir("hec-throughput") as work:
        span = args.span_days * 86400
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-bench",
                          extra=["--backlog", str(args.events), "--span-secs", str(span)])
        # cpp-httplib serves a keep-alive connection on one thread for its lifetime: one thread per
        # sink connection (concurrency), plus the ack poller and the benchmark's own queries.
        extra = ["--record", "count", "--threads", str(args.concurrency + 3)]
        if args.indexer_ack:
            extra.append("--ack")
        rx = hec_fake.HecReceiver(args.build_dir, work, extra=extra)
        agent = None
        try:
            expected = len(sim.ids())
            port = h.free_port()
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url,
                start_at=f"{args.span_days + 1}d", encoding=args.encoding, endpoint=rx.url,
                token=rx.token, compression=args.compression, level=args.level,
                ack="true" if args.indexer_ack else "false", concurrency=args.concurrency,
                batch_events=args.batch_events))
            meter = h.CpuMeter(sim=sim.process.proc.pid, rx=rx.process.proc.pid)
            start = time.monotonic()
            agent = h.Agent(args.build_dir, work, cfg)
            pid = agent.process.proc.pid

            def done():
                assert agent.process.alive(), f"the agent exited: {agent.process.stderr()[-2000:]}"
                return rx.events_total() >= expected

            h.wait_until(done, 3600, f"{expected} events indexed", interval=0.05)
            elapsed = time.monotonic() - start
            cpu, peak = h.process_stats(pid)
            rx_cpu = meter.used("rx")
            sim_cpu = meter.used("sim")
            sim_requests = sim.stats()["requests_total"]
            stats = rx.stats()
            agent.process.stop()
            mb = stats["body_bytes_total"] / 1e6
            ratio = stats["body_bytes_total"] / max(1, stats["wire_bytes_total"])
            print(f"events: {expected} (non-tenant share of a {args.events} backlog)  "
                  f"encoding: {args.encoding}  compression: {args.compression}"
                  f"{' level ' + str(args.level) if args.compression == 'gzip' else ''}  "
                  f"indexer_ack: {args.indexer_ack}  concurrency: {args.concurrency}")
            print(f"wall: {elapsed:.1f} s  throughput: {expected / elapsed:,.0f} events/s")
            print(f"agent CPU: {cpu:.1f} s ({expected / cpu:,.0f} events per CPU-second)")
            print(f"agent peak RSS: {peak / 1048576:.1f} MiB")
            print(f"receiver: {stats['event_requests_total']} requests, {mb:,.1f} MB decoded "
                  f"({ratio:.1f}:1 on the wire), CPU {rx_cpu:.1f} s")
            print(f"simulator: {sim_requests} requests, CPU {sim_cpu:.1f} s")
        finally:
            if agent:
                agent.close()
            rx.close()
            sim.close()


if __name__ == "__main__":
    main()
