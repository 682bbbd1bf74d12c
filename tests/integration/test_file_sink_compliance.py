"""The file sink through the shared compliance suite (tests/integration/compliance.py)."""

import os

import compliance
import harness as h


class FileAdapter:
    name = "file"

    def start(self, work):
        self.out = os.path.join(work, "out")

    def sink_yaml(self, sink_id):
        return f"""  {sink_id}:
    type: file
    encoding: raw
    path: {self.out}/events.ndjson
"""

    def delivered_ids(self):
        return h.read_ndjson_ids(self.out) if os.path.isdir(self.out) else []

    def fail_retryably(self, on):
        raise NotImplementedError("a local file has no retryable answer to inject; write errors "
                                  "are covered by FileSinkTest.UnwritableTargetIsRetriedNotLost")

    def reject_permanently(self, on):
        raise NotImplementedError("a local file never rejects an event")

    def stop_receiver(self):
        raise NotImplementedError("a local file has no receiver to stop")

    def start_receiver(self):
        pass

    def close(self):
        pass


def main(args):
    results = compliance.run(args.build_dir, FileAdapter())
    assert results[0] == ("delivered", "ok"), results


if __name__ == "__main__":
    h.run_main(main)
