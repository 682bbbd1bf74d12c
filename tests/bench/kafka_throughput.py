#!/usr/bin/env python3
"""End-to-end throughput: the OpenAI simulator with a large backlog -> siem-agent -> Kafka sink ->
librdkafka's mock cluster (tests/fakes/kafka_mock, real Kafka protocol on loopback).

Prints events/s, the agent's CPU seconds and peak RSS (and the CPU of the simulator and the mock
cluster, which share the machine). A benchmark, not a test: it checks only that every event was
delivered and that the topic holds at least that many records.

    python3 tests/bench/kafka_throughput.py --build-dir build [--events 500000] \
        [--encoding raw|ocsf|ecs] [--compression none|lz4|zstd|...] [--batch 5000] [--concurrency 4]
        [--sources N]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness as h  # noqa: E402
import kafka_util  # noqa: E402

TOPIC = "siem.audit"
PARTITIONS = 8

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: warn, format: json }}
sources:
{sources}
sinks:
  kafka:
    type: kafka
    encoding: {encoding}
    brokers: [{brokers}]
    topic: {topic}
    compression: {compression}
    linger_ms: {linger}
    batch: {{ max_events: {batch}, max_bytes: 16000000, timeout_ms: 200 }}
    buffer: {{ max_events: {buffer}, max_bytes: 268435456 }}
    concurrency: {concurrency}
routes:
  - name: everything
    from: ["*"]
    to: [kafka]
"""


SOURCE = """  openai{n}:
    type: openai_audit_logs
    api_key: sk-admin-bench
    organization_id: org-{n}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: {start_at}
    lookback_secs: 300
    page_size: 100
    max_requests_per_sec: 10000
"""


def topic_records(kcat, bootstrap):
    """Sum of the partitions' end offsets (kcat -Q with timestamp -1 = latest)."""
    argv = [kcat, "-b", bootstrap, "-Q", "-X", "log_level=3"]
    for p in range(PARTITIONS):
        argv += ["-t", f"{TOPIC}:{p}:-1"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    total = 0
    for line in out.stdout.splitlines():
        # "siem.audit [3] offset 12345"
        parts = line.split()
        if len(parts) >= 4 and parts[-2] == "offset":
            total += int(parts[-1])
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--events", type=int, default=500_000)
    p.add_argument("--span-days", type=int, default=30)
    p.add_argument("--encoding", default="raw")
    p.add_argument("--compression", default="lz4")
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--linger-ms", type=int, default=5)
    p.add_argument("--sources", type=int, default=1,
                   help="OpenAI sources reading the same simulator (one thread each): the sink "
                        "then gets SOURCES times the backlog")
    args = p.parse_args()

    with h.Workdir("kafka-throughput") as work:
        span = args.span_days * 86400
        mock = kafka_util.KafkaMock(args.build_dir, work, brokers=3,
                                    topics=[f"{TOPIC}:{PARTITIONS}:3"])
        # cpp-httplib serves a keep-alive connection on one thread for its lifetime, and a source
        # that reads ahead holds up to four connections.
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-bench",
                          extra=["--backlog", str(args.events), "--span-secs", str(span),
                                 "--threads", str(8 + 4 * args.sources)])
        agent = None
        try:
            # Tenant-scoped events are outside the source's default query.
            total = len(sim.ids()) * args.sources
            port = h.free_port()
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port,
                sources="".join(SOURCE.format(n=n, base_url=sim.base_url,
                                              start_at=f"{args.span_days + 1}d")
                                for n in range(args.sources)),
                encoding=args.encoding,
                brokers=", ".join(f'"{b}"' for b in mock.brokers), topic=TOPIC,
                compression=args.compression, linger=args.linger_ms, batch=args.batch,
                buffer=max(50_000, 4 * args.batch * args.concurrency),
                concurrency=args.concurrency))
            meter = h.CpuMeter(sim=sim.process.proc.pid, mock=mock.process.proc.pid)
            start = time.monotonic()
            agent = h.Agent(args.build_dir, work, cfg)
            pid = agent.process.proc.pid
            h.wait_for_sent(agent, port, "kafka", total)
            elapsed = time.monotonic() - start
            cpu, peak = h.process_stats(pid)
            sim_cpu = meter.used("sim")
            mock_cpu = meter.used("mock")
            agent.process.stop()
            kcat = shutil.which("kcat")
            records = topic_records(kcat, mock.bootstrap) if kcat else None
            if records is not None:
                assert records >= total, (records, total)
            print(f"events: {total} (backlog {args.events}, {args.sources} source(s))  encoding: {args.encoding}  compression: "
                  f"{args.compression}  batch: {args.batch}  concurrency: {args.concurrency}")
            print(f"wall: {elapsed:.1f} s  throughput: {total / elapsed:,.0f} events/s")
            print(f"agent CPU: {cpu:.1f} s ({total / cpu:,.0f} events per CPU-second)")
            print(f"agent peak RSS: {peak / 1048576:.1f} MiB")
            print(f"simulator CPU: {sim_cpu:.1f} s  mock cluster CPU: {mock_cpu:.1f} s")
            if records is not None:
                print(f"records in {TOPIC}: {records}")
        finally:
            if agent:
                agent.close()
            sim.close()
            mock.close()


if __name__ == "__main__":
    main()
