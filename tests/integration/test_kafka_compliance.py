"""The Kafka sink through the shared compliance suite (tests/integration/compliance.py), against
librdkafka's mock cluster (real Kafka protocol) and read back with kcat.

Faults: retryable = every produce request answered NOT_ENOUGH_REPLICAS (librdkafka retries until
message_timeout_ms, then the driver retries); permanent = MSG_SIZE_TOO_LARGE from the broker
(dead-lettered); receiver down = every broker down."""

import compliance
import harness as h
import kafka_util

TOPIC = "siem.audit"
# Enough failing answers to outlast any scenario; cleared when the fault is switched off.
FAULT_REPEAT = 200000


class KafkaAdapter:
    name = "kafka"

    def __init__(self, build_dir, kcat):
        self.build_dir = build_dir
        self.kcat = kcat
        self.mock = None

    def start(self, work):
        self.mock = kafka_util.KafkaMock(self.build_dir, work, brokers=3,
                                         topics=[f"{TOPIC}:4:3"])

    def sink_yaml(self, sink_id):
        brokers = ", ".join(f'"{b}"' for b in self.mock.brokers)
        return f"""  {sink_id}:
    type: kafka
    encoding: ocsf
    brokers: [{brokers}]
    topic: {TOPIC}
    message_timeout_ms: 2000
    librdkafka: {{ topic.metadata.refresh.interval.ms: 1000 }}
"""

    def delivered_ids(self):
        messages = kafka_util.consume(self.kcat, self.mock.bootstrap, TOPIC)
        for m in messages:
            assert m.headers.get("encoding") == "ocsf", m.headers
            assert m.headers.get("source_id") == "openai", m.headers
        return [m.key for m in messages]

    def fail_retryably(self, on):
        if on:
            self.mock.push_errors(["NOT_ENOUGH_REPLICAS"], repeat=FAULT_REPEAT)
        else:
            self.mock.clear_errors()

    def reject_permanently(self, on):
        if on:
            self.mock.push_errors(["MSG_SIZE_TOO_LARGE"], repeat=FAULT_REPEAT)
        else:
            self.mock.clear_errors()

    def stop_receiver(self):
        self.mock.broker_down("all")

    def start_receiver(self):
        self.mock.broker_up("all")

    def close(self):
        if self.mock:
            self.mock.close()


def main(args):
    kcat = kafka_util.require_kcat()
    results = compliance.run(args.build_dir, KafkaAdapter(args.build_dir, kcat))
    assert all(verdict == "ok" for _, verdict in results), results


if __name__ == "__main__":
    h.run_main(main)
