"""Shared helpers for the integration tests: start the real binaries on loopback, wait with
deadlines, scrape metrics. Standard library only."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SKIP = 77


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    args, _ = p.parse_known_args()
    return args


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def http_get(url, timeout=5):
    """Returns (status, body as str); never raises for HTTP error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def http_post(url, body=b"", timeout=5):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Process:
    """A child process whose stdout/stderr are captured to files and kept for failure reports."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.stdout_path = os.path.join(workdir, f"{name}.stdout")
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=self._err, env=full_env,
                                     stdin=subprocess.DEVNULL)

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout=30):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"{self.name} did not stop within {timeout}s after SIGTERM")
        return self.proc.returncode

    def close(self):
        self.kill()
        self._out.close()
        self._err.close()


class Simulator:
    """The OpenAI audit-log simulator from tests/fakes/openai_sim."""

    def __init__(self, build_dir, workdir, admin_key=None, admin_key_file=None, extra=(),
                 name="openai_sim"):
        binary = os.path.join(build_dir, "tests", "openai_sim")
        argv = [binary, "--port", "0"]
        if admin_key_file:
            argv += ["--admin-key-file", admin_key_file]
        else:
            argv += ["--admin-key", admin_key or "sk-admin-test"]
        argv += list(extra)
        # `name` names the output files: give each simulator of one test its own.
        self.process = Process(name, argv, workdir)
        line = wait_until(lambda: re.search(r"listening on (http://\S+)", self.process.stdout()),
                          60, "the simulator to listen")
        self.url = line.group(1)
        self.base_url = self.url + "/v1"

    def ids(self, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        status, body = http_get(f"{self.url}/_sim/ids" + (f"?{query}" if query else ""), timeout=60)
        assert status == 200, (status, body)
        return [line for line in body.splitlines() if line]

    def fault(self, kind, count=1, **extra):
        body = dict(kind=kind, count=count, **extra)
        status, text = http_post(f"{self.url}/_sim/fault", json.dumps(body).encode())
        assert status == 200, (status, text)

    # Types the default (tenant_only=false) query returns, for tests that add events on the fly.
    ORG_TYPES = ("login.succeeded", "login.failed", "api_key.created", "project.updated",
                 "user.added", "invite.sent")

    def generate(self, count, at=None, types=ORG_TYPES):
        q = f"count={count}" + (f"&at={at}" if at is not None else "")
        q += "".join(f"&type={t}" for t in types)
        status, text = http_post(f"{self.url}/_sim/generate?{q}")
        assert status == 200, (status, text)

    def stats(self):
        status, body = http_get(f"{self.url}/_sim/stats")
        assert status == 200
        return json.loads(body)

    def close(self):
        self.process.close()


class Agent:
    def __init__(self, build_dir, workdir, config_path, name="agent", extra=(), env=None):
        self.binary = os.path.join(build_dir, "siem-agent")
        self.process = Process(name, [self.binary, "run", "--config", config_path, *extra],
                               workdir, env=env)

    def close(self):
        self.process.close()


def agent_binary(build_dir):
    return os.path.join(build_dir, "siem-agent")


def scrape(port):
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, status
    return body


def metric_value(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    found = False
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            total += float(m.group(4))
            found = True
    return total if found else None


def process_stats(pid):
    """(CPU seconds, user + system, and peak resident set size in bytes) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return cpu, peak


def wait_for_sent(agent, port, sink_id, total, timeout=1800):
    """Waits until sink `sink_id` of the agent serving metrics on `port` has delivered `total`
    events; fails at once, with the agent's stderr, if it exits meanwhile."""

    def sent():
        if not agent.process.alive():
            raise AssertionError("the agent exited:\n" + agent.process.stderr()[-2000:])
        try:
            return metric_value(scrape(port), "siem_agent_component_sent_events_total",
                                component_id=sink_id) or 0
        except OSError:
            return 0

    wait_until(lambda: sent() >= total, timeout, f"{total} events sent by {sink_id}", interval=0.2)


class CpuMeter:
    """CPU seconds a set of processes spend from now on, for benchmarks: `meter.used(name)`."""

    def __init__(self, **pids):
        self.pids = pids
        self.start = {name: process_stats(pid)[0] for name, pid in pids.items()}

    def used(self, name):
        return process_stats(self.pids[name])[0] - self.start[name]


def read_ndjson_ids(path_glob_dir, prefix=""):
    """All `id` values of every .ndjson line under a directory, in file order."""
    ids = []
    for root, _, files in os.walk(path_glob_dir):
        for f in sorted(files):
            if not f.endswith(".ndjson") or not f.startswith(prefix):
                continue
            with open(os.path.join(root, f), "rb") as fh:
                for line in fh:
                    line = line.strip()
                    if line:
                        ids.append(event_id(json.loads(line)))
    return ids


def event_id(obj):
    """The audit-log id of an exported event in any encoding (raw, OCSF, ECS)."""
    if "metadata" in obj and isinstance(obj["metadata"], dict) and "uid" in obj["metadata"]:
        return obj["metadata"]["uid"]
    if "event" in obj and isinstance(obj["event"], dict) and "id" in obj["event"]:
        return obj["event"]["id"]
    return obj["id"]


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class Workdir:
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"siem-{name}-")
        self.keep = os.environ.get("SIEM_KEEP_WORKDIR") == "1"

    def __enter__(self):
        return self.path

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print(f"(work directory kept for inspection: {self.path})", file=sys.stderr)
            for name in sorted(os.listdir(self.path)):
                if name.endswith((".stderr", ".stdout")):
                    p = os.path.join(self.path, name)
                    with open(p, "rb") as f:
                        data = f.read()[-4000:].decode("utf-8", "replace")
                    print(f"----- tail of {name} -----\n{data}", file=sys.stderr)
        return False


def run_main(main):
    args = parse_args()
    try:
        main(args)
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
    sys.exit(0)


# --- helpers for the OpenAI source's tests ---------------------------------------------------

def sim_requests(sim, limit=1000):
    """The simulator's last `limit` /v1 requests, oldest first: dicts with endpoint, target,
    status, fault."""
    status, body = http_get(f"{sim.url}/_sim/requests?limit={limit}")
    assert status == 200, (status, body)
    return json.loads(body)["requests"]


def sim_clear_faults(sim):
    req = urllib.request.Request(f"{sim.url}/_sim/fault", method="DELETE")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def sim_generate(sim, count, at=None, types=Simulator.ORG_TYPES):
    """Like Simulator.generate, but returns the ids of the new events."""
    q = f"count={count}" + (f"&at={at}" if at is not None else "")
    q += "".join(f"&type={t}" for t in types)
    status, text = http_post(f"{sim.url}/_sim/generate?{q}")
    assert status == 200, (status, text)
    return json.loads(text)["ids"]


def read_checkpoint(data_dir, source_id):
    """The OpenAI source's cursor state (dict with watermark, origin, seen) or None."""
    path = os.path.join(data_dir, "checkpoints", f"{source_id}.json")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    header, _, payload = data.partition(b"\n")
    assert header.startswith(b"siem-agent-checkpoint"), header
    return json.loads(payload)


def peak_rss_mib(pid):
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no VmHWM for pid {pid}")


def readyz(port):
    """(status, body) of /readyz, or (None, None) while the agent does not answer."""
    try:
        return http_get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except OSError:
        return None, None


def scrape_or_empty(port):
    try:
        return scrape(port)
    except (OSError, AssertionError):
        return ""
