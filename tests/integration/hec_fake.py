"""The loopback HEC receiver (tests/fakes/hec_receiver) for integration tests and benchmarks:
start/stop/restart on the same port, faults and settings through its control API, and what it
indexed. Also makes throw-away TLS certificates with the openssl command. Standard library only."""

import json
import os
import re
import ssl
import subprocess
import urllib.error
import urllib.request

import harness as h

TOKEN = "11111111-2222-3333-4444-555555555555"


class HecReceiver:
    """One hec_receiver process. Events indexed before a stop() are kept, so tests see everything
    the "indexer" holds across restarts."""

    def __init__(self, build_dir, workdir, token=TOKEN, extra=(), tls=None, name="hec_receiver"):
        self.binary = os.path.join(build_dir, "tests", "hec_receiver")
        self.workdir = workdir
        self.token = token
        self.extra = list(extra)
        self.tls = tls  # a Pki, or None for plain HTTP
        self.name = name
        self.port = 0
        self.process = None
        self.restarts = 0
        self._archived = []
        self._context = None
        if tls:
            self._context = ssl.create_default_context(cafile=tls.ca)
        self.start()

    @property
    def url(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self):
        argv = [self.binary, "--port", str(self.port), "--token", self.token, *self.extra]
        if self.tls:
            argv += ["--tls-cert", self.tls.server_cert, "--tls-key", self.tls.server_key]
        name = self.name if self.restarts == 0 else f"{self.name}.{self.restarts}"
        self.restarts += 1
        self.process = h.Process(name, argv, self.workdir)
        line = h.wait_until(
            lambda: re.search(r"hec_receiver listening on https?://127\.0\.0\.1:(\d+)",
                              self.process.stdout()) or (not self.process.alive() and "exited"),
            60, "hec_receiver to listen")
        assert line != "exited", f"hec_receiver exited: {self.process.stderr()}"
        self.port = int(line.group(1))

    def stop(self):
        """Stops the receiver, keeping what it indexed."""
        self._archived += self._fetch_events()
        rc = self.process.stop()
        self.process.close()
        assert rc == 0, f"hec_receiver exit code {rc}"

    def close(self):
        if self.process:
            self.process.close()

    # Control API ----------------------------------------------------------------------------

    def _call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._context) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def fault(self, kind, count=1, **extra):
        status, text = self._call("POST", "/_sim/fault", dict(kind=kind, count=count, **extra))
        assert status == 200, (status, text)

    def clear_faults(self):
        status, text = self._call("DELETE", "/_sim/fault")
        assert status == 200, (status, text)

    def settings(self, **values):
        status, text = self._call("POST", "/_sim/settings", values)
        assert status == 200, (status, text)

    def stats(self):
        status, text = self._call("GET", "/_sim/stats")
        assert status == 200, (status, text)
        return json.loads(text)

    def _fetch_events(self):
        status, text = self._call("GET", "/_sim/events")
        assert status == 200, (status, text)
        return [json.loads(line) for line in text.splitlines() if line]

    def events(self):
        """Every event indexed so far (across restarts), in order, with its metadata."""
        current = self._fetch_events() if self.process and self.process.alive() else []
        return self._archived + current

    def ids(self):
        """The audit-log id of every indexed event, duplicates kept."""
        return [h.event_id(e["event"]) for e in self.events()]

    def events_total(self):
        return self.stats()["events_total"]


class Pki:
    """A throw-away CA, a server certificate it signed (for 127.0.0.1, localhost and hec.test) and
    a second, unrelated CA, made with the openssl command."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.ca, self.ca_key = self._ca("ca")
        self.other_ca, _ = self._ca("other-ca")
        self.server_key = os.path.join(directory, "server.key")
        self.server_cert = os.path.join(directory, "server.pem")
        csr = os.path.join(directory, "server.csr")
        ext = os.path.join(directory, "server.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:hec.test\n"
                    "extendedKeyUsage=serverAuth\n")
        self._openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", self.server_key,
                      "-subj", "/CN=hec.test", "-out", csr)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                      "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext,
                      "-out", self.server_cert)

    def _ca(self, name):
        key = os.path.join(self.dir, f"{name}.key")
        cert = os.path.join(self.dir, f"{name}.pem")
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                      "-subj", f"/CN=siem-agent test {name}", "-days", "2", "-sha256",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", cert)
        return cert, key

    @staticmethod
    def _openssl(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)


def sink_metric(port, name, sink_id, **labels):
    return h.metric_value(h.scrape(port), name, component_id=sink_id, **labels) or 0.0


def wait_agent_up(port, timeout=60):
    def up():
        try:
            return h.http_get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200
        except OSError:
            return False
    h.wait_until(up, timeout, "the agent's HTTP API")


def ready(port):
    """(status, body) of the agent's /readyz."""
    try:
        return h.http_get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    except OSError:
        return 0, ""


def dead_letter_ids(data_dir, sink_id):
    path = os.path.join(data_dir, "dead_letter", f"{sink_id}.ndjson")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line)["id"] for line in f if line.strip()]
