"""The splunk_hec sink through the shared compliance suite (tests/integration/compliance.py),
against the loopback HEC receiver (tests/fakes/hec_receiver)."""

import compliance
import harness as h
import hec_fake


class HecAdapter:
    name = "splunk_hec"

    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.rx = None

    def start(self, work):
        self.rx = hec_fake.HecReceiver(self.build_dir, work)

    def sink_yaml(self, sink_id):
        return f"""  {sink_id}:
    type: splunk_hec
    encoding: ocsf
    endpoint: {self.rx.url}
    token: {self.rx.token}
"""

    def delivered_ids(self):
        return self.rx.ids()

    def fail_retryably(self, on):
        # 503 "Server is busy" (code 9) on every request while on.
        if on:
            self.rx.fault("busy", count=0)
        else:
            self.rx.clear_faults()

    def reject_permanently(self, on):
        # 400 "Invalid data format" (code 6) for the first event of every request while on: each
        # request dead-letters one event and the rest is sent again.
        if on:
            self.rx.fault("invalid_event", count=0, invalid_event_number=0)
        else:
            self.rx.clear_faults()

    def stop_receiver(self):
        self.rx.stop()

    def start_receiver(self):
        self.rx.start()

    def close(self):
        if self.rx:
            self.rx.close()


def main(args):
    results = compliance.run(args.build_dir, HecAdapter(args.build_dir))
    assert all(verdict == "ok" for _, verdict in results), results


if __name__ == "__main__":
    h.run_main(main)
