"""A permanent Kafka error: events whose record exceeds message.max.bytes are dead-lettered with
the error's name, the rest are delivered, nothing is both or neither, and the cursor moves past
the dead-lettered events (a restart sends none of them again). A credential in the librdkafka map
never shows in the logs or metrics."""

import json
import os

import harness as h
import kafka_util

TOPIC = "siem.audit"
KEY = "sk-admin-dead-letter"
KAFKA_PASSWORD = "kafka-pw-5f1e0c9d"
BACKLOG = 2000
# librdkafka's message.max.bytes (minimum 1000). OCSF renderings of the simulator's events are
# spread around this size, so some exceed it and most do not.
LIMIT = 2340
# librdkafka refuses a record when its largest possible encoding exceeds the limit: key + value +
# headers + at most 36 bytes of varints and attributes (rd_kafka_msg_max_wire_size), plus a few
# bytes of varints per header. The size checks below allow this much slack.
FRAMING = 60


def header_bytes(event_type):
    """The headers the sink adds (names and values)."""
    return (len("event_type") + len(event_type) + len("source_id") + len("openai") +
            len("encoding") + len("ocsf"))

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: debug, format: json }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: {key}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    max_requests_per_sec: 100
sinks:
  kafka:
    type: kafka
    encoding: ocsf
    brokers: [{brokers}]
    topic: {topic}
    librdkafka: {{ message.max.bytes: {limit}, sasl.username: agent,
                  sasl.password: "${{KAFKA_PASSWORD}}", debug: conf }}
    batch: {{ max_events: 200, timeout_ms: 50 }}
routes:
  - name: everything
    from: ["*"]
    to: [kafka]
"""


def dead_letters(data):
    """(id, type, reason, exact event bytes) of every line of the sink's dead-letter file."""
    path = os.path.join(data, "dead_letter", "kafka.ndjson")
    out = []
    if not os.path.exists(path):
        return out
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n")
            if not line:
                continue
            obj = json.loads(line)
            # The event is written verbatim after "event": (the last member).
            body = line[line.index(b',"event":') + len(b',"event":'):-1]
            out.append((obj["id"], obj["type"], obj["reason"], body))
    return out


def main(args):
    kcat = kafka_util.require_kcat()
    with h.Workdir("kafka-dead-letter") as work:
        mock = kafka_util.KafkaMock(args.build_dir, work, brokers=1, topics=[f"{TOPIC}:4:1"])
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", str(BACKLOG), "--span-secs", "86400", "--seed",
                                 "29"])
        agent = None
        try:
            expected = set(sim.ids())
            port = h.free_port()
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, key=KEY, base_url=sim.base_url,
                brokers=", ".join(f'"{b}"' for b in mock.brokers), topic=TOPIC, limit=LIMIT))
            env = {"KAFKA_PASSWORD": KAFKA_PASSWORD}
            agent = h.Agent(args.build_dir, work, cfg, env=env)

            def terminal():
                try:
                    text = h.scrape(port)
                except OSError:
                    return 0
                sent = h.metric_value(text, "siem_agent_component_sent_events_total",
                                      component_id="kafka") or 0
                dead = h.metric_value(text, "siem_agent_dead_letter_events_total",
                                      component_id="kafka") or 0
                return sent + dead

            h.wait_until(lambda: terminal() >= len(expected), 180, "every event terminal")
            messages = kafka_util.consume(kcat, mock.bootstrap, TOPIC)
            delivered = {m.key for m in messages}
            dead = dead_letters(data)
            dead_ids = {d[0] for d in dead}
            print(f"{len(expected)} events: {len(delivered)} in Kafka, {len(dead_ids)} "
                  f"dead-lettered (message.max.bytes={LIMIT})")
            assert dead_ids, "no event exceeded message.max.bytes: the test proves nothing"
            assert delivered, "nothing was delivered"
            assert not delivered & dead_ids, "an event is both delivered and dead-lettered"
            assert delivered | dead_ids == expected, "an event is neither delivered nor dead-lettered"
            assert len(dead) == len(dead_ids), "an event was dead-lettered twice"
            for event_id, event_type, reason, body in dead:
                assert "MSG_SIZE_TOO_LARGE" in reason, reason
                size = len(body) + len(event_id) + header_bytes(event_type)
                assert size > LIMIT - FRAMING, (event_id, size)
            for m in messages:
                size = len(m.value.encode()) + len(m.key) + header_bytes(m.headers["event_type"])
                assert size <= LIMIT, (m.key, size)

            assert KAFKA_PASSWORD not in h.scrape(port)

            # The cursor moved past the dead letters: a restart sends only what is new.
            rc = agent.process.stop(timeout=30)
            assert rc == 0, rc
            agent.close()
            agent = h.Agent(args.build_dir, work, cfg, name="agent2", env=env)
            sim.generate(5)
            fresh = set(sim.ids()) - expected
            assert len(fresh) == 5
            h.wait_until(lambda: fresh <= ({m.key for m in kafka_util.consume(
                kcat, mock.bootstrap, TOPIC)} | {d[0] for d in dead_letters(data)}), 120,
                "the new events after the restart")
            again = kafka_util.consume(kcat, mock.bootstrap, TOPIC)
            dead_again = dead_letters(data)
            assert len(again) + len(dead_again) == len(expected) + 5, (
                f"{len(again) + len(dead_again) - len(expected) - 5} events sent again")
            rc = agent.process.stop(timeout=30)
            assert rc == 0, rc
            for name in ("agent", "agent2"):
                with open(os.path.join(work, f"{name}.stderr"), encoding="utf-8",
                          errors="replace") as f:
                    logs = f.read()
                # librdkafka's configuration dump (debug: conf) names the property...
                assert "sasl.password" in logs, f"no configuration dump in the {name} log"
                # ...but its value appears nowhere.
                assert KAFKA_PASSWORD not in logs, f"the Kafka password is in the {name} log"
        finally:
            if agent:
                agent.close()
            sim.close()
            mock.close()


if __name__ == "__main__":
    h.run_main(main)
