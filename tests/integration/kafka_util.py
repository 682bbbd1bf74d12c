"""Kafka helpers for the integration tests and benchmarks: the kafka_mock fake (a librdkafka mock
cluster with an HTTP control API) and a real consumer (kcat, Debian package `kcat`)."""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import harness as h


def require_kcat():
    """The kcat binary, or exit with the skip code and the reason."""
    kcat = shutil.which("kcat")
    if not kcat:
        print("SKIP: kcat is not installed (apt-get install kcat; deploy/dev/install-deps.sh)")
        sys.exit(h.SKIP)
    return kcat


class KafkaMock:
    """tests/fakes/kafka_mock: brokers on loopback, topics, error injection, broker down/up."""

    def __init__(self, build_dir, workdir, brokers=3, topics=(), name="kafka_mock"):
        binary = os.path.join(build_dir, "tests", "kafka_mock")
        argv = [binary, "--brokers", str(brokers)]
        for t in topics:
            argv += ["--topic", t]
        self.process = h.Process(name, argv, workdir)
        m = h.wait_until(
            lambda: re.search(r"listening on (http://\S+) bootstrap=(\S+)", self.process.stdout()),
            60, "the Kafka mock cluster")
        self.url = m.group(1)
        self.bootstrap = m.group(2)
        self.brokers = self.bootstrap.split(",")

    def _call(self, method, path, **params):
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        req = urllib.request.Request(url, data=b"", method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read().decode("utf-8", "replace")
        assert status == 200, (method, path, status, body)
        return json.loads(body)

    def create_topic(self, name, partitions=4, replication=1):
        return self._call("POST", "/_sim/topics", name=name, partitions=partitions,
                          replication=replication)

    def push_errors(self, errors, repeat=1, api="produce"):
        """The next `repeat * len(errors)` requests of `api` fail with `errors` in turn."""
        return self._call("POST", "/_sim/errors", api=api, error=list(errors), repeat=repeat)

    def clear_errors(self, api="produce"):
        return self._call("DELETE", "/_sim/errors", api=api)

    def broker_down(self, broker="all"):
        return self._call("POST", f"/_sim/broker/{broker}/down")

    def broker_up(self, broker="all"):
        return self._call("POST", f"/_sim/broker/{broker}/up")

    def close(self):
        self.process.close()


Message = collections.namedtuple("Message", "partition offset key headers value")


def consume(kcat, bootstrap, topic, timeout=120):
    """Every message of `topic` from the beginning to the current end, read by kcat."""
    argv = [kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J",
            "-X", "log_level=3"]
    run = subprocess.run(argv, capture_output=True, timeout=timeout)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    out = []
    for line in run.stdout.decode("utf-8").splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        pairs = m.get("headers") or []
        headers = dict(zip(pairs[0::2], pairs[1::2]))
        out.append(Message(m["partition"], m["offset"], m.get("key"), headers, m.get("payload")))
    return out


def summarize(messages):
    """Per-partition message counts and the number of duplicate keys."""
    per_partition = collections.Counter(m.partition for m in messages)
    keys = collections.Counter(m.key for m in messages)
    duplicates = sum(c - 1 for c in keys.values() if c > 1)
    return dict(sorted(per_partition.items())), duplicates
