"""SIGKILL the agent several times while it streams to Kafka (librdkafka's mock cluster) and
restart it each time: every id the simulator holds ends up in Kafka. Only the uncommitted tail may
be sent twice; the test prints how many duplicates there were."""

import os
import random
import signal

import harness as h
import kafka_util

TOTAL = 20000
# Tenant-scoped events (about 6 %) are outside the source's default query; this backlog leaves
# at least TOTAL events in it.
BACKLOG = 21400
TOPIC = "siem.audit"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-crash-kafka
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    page_size: 100
    max_requests_per_sec: 25
sinks:
  kafka:
    type: kafka
    encoding: raw
    brokers: [{brokers}]
    topic: {topic}
    batch: {{ max_events: 200, timeout_ms: 50 }}
routes:
  - name: everything
    from: ["*"]
    to: [kafka]
"""


def main(args):
    kcat = kafka_util.require_kcat()
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    with h.Workdir("crash-kafka") as work:
        mock = kafka_util.KafkaMock(args.build_dir, work, brokers=3, topics=[f"{TOPIC}:4:3"])
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-crash-kafka",
                          extra=["--backlog", str(BACKLOG), "--span-secs", "86400", "--seed", "23"])
        agent = None
        try:
            expected = set(sim.ids())
            assert len(expected) >= TOTAL, len(expected)
            port = h.free_port()
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url,
                brokers=", ".join(f'"{b}"' for b in mock.brokers), topic=TOPIC))

            def keys():
                return [m.key for m in kafka_util.consume(kcat, mock.bootstrap, TOPIC)]

            kills = 0
            for round_no in range(4):
                agent = h.Agent(args.build_dir, work, cfg, name=f"agent{round_no}")
                target = min(len(expected) - 1, len(set(keys())) + rng.randint(1000, 4000))
                h.wait_until(lambda: len(set(keys())) >= target, 180,
                             f"{target} ids in Kafka before the kill", interval=0.3)
                agent.process.signal(signal.SIGKILL)
                agent.process.wait(timeout=10)
                agent.close()
                kills += 1
            agent = h.Agent(args.build_dir, work, cfg, name="agent-final")
            h.wait_until(lambda: set(keys()) >= expected, 300, "every id after the restarts",
                         interval=0.5)
            messages = kafka_util.consume(kcat, mock.bootstrap, TOPIC)
            got = {m.key for m in messages}
            missing = expected - got
            assert not missing, f"{len(missing)} ids lost"
            assert got == expected, f"{len(got - expected)} unexpected keys"
            per_partition, duplicates = kafka_util.summarize(messages)
            print(f"{kills} SIGKILLs; {len(messages)} messages for {len(expected)} ids; "
                  f"{duplicates} duplicates (re-sent uncommitted tail); per partition: "
                  f"{per_partition}")
            rc = agent.process.stop(timeout=30)
            assert rc == 0, rc
        finally:
            if agent:
                agent.close()
            sim.close()
            mock.close()


if __name__ == "__main__":
    h.run_main(main)
