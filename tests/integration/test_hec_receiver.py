"""The loopback HEC receiver (tests/fakes/hec_receiver) enforces the protocol as Splunk documents
it: the checks a conformant receiver must make (auth codes, encodings, channels, the
stop-at-first-bad-event rule, size caps, acks, health) and its fault knobs."""

import gzip
import http.client
import json
import os

import harness as h
import hec_fake

TOKEN = hec_fake.TOKEN
CHANNEL = "0b9c5f3e-8d1a-4c2b-9e7f-123456789abc"


class Client:
    def __init__(self, rx):
        self.rx = rx

    def post(self, path, body, headers=None, token=TOKEN, channel=CHANNEL):
        conn = http.client.HTTPConnection("127.0.0.1", self.rx.port, timeout=30)
        hdrs = {}
        if token is not None:
            hdrs["Authorization"] = f"Splunk {token}"
        if channel is not None:
            hdrs["X-Splunk-Request-Channel"] = channel
        hdrs.update(headers or {})
        conn.request("POST", path, body=body if isinstance(body, bytes) else body.encode(),
                     headers=hdrs)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        try:
            return r.status, json.loads(text), r
        except ValueError:
            return r.status, text, r

    def event(self, body, **kw):
        return self.post("/services/collector/event", body, **kw)

    def ack(self, ids, **kw):
        return self.post("/services/collector/ack", json.dumps({"acks": ids}), **kw)

    def health(self, token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.rx.port, timeout=30)
        conn.request("GET", "/services/collector/health",
                     headers={"Authorization": f"Splunk {token}"} if token else {})
        r = conn.getresponse()
        body = json.loads(r.read())
        conn.close()
        return r.status, body


def expect(got, status, code, **extra):
    s, body, _ = got
    assert s == status and body.get("code") == code, (got[0], got[1], status, code)
    for k, v in extra.items():
        assert body.get(k.replace("_", "-")) == v, (body, k, v)


def check_auth_and_encoding(c):
    expect(c.event('{"event":1}', token=None), 401, 2)
    s, body, _ = c.post("/services/collector/event?token=" + TOKEN, '{"event":1}', token=None)
    assert (s, body["code"]) == (400, 16), body
    expect(c.event('{"event":1}', headers={"Authorization": "Bearer " + TOKEN}, token=None),
           401, 3)
    expect(c.event('{"event":1}', token="22222222-2222-2222-2222-222222222222"), 403, 1)
    expect(c.event('{"event":1}', token="unknown"), 403, 4)
    s, _, _ = c.event(gzip.compress(b'{"event":1}'), headers={"Content-Encoding": "deflate"})
    assert s == 415, s
    expect(c.event(gzip.compress(b'{"event":"zipped"}'), headers={"Content-Encoding": "gzip"}),
           200, 0)
    assert body_text(c.rx.events()[-1]) == "zipped"
    # Content codings are case-insensitive; members may follow one another (RFC 1952).
    expect(c.event(gzip.compress(b'{"event":"z1"}') + gzip.compress(b'{"event":"z2"}'),
                   headers={"Content-Encoding": "GZip"}), 200, 0)
    assert [body_text(e) for e in c.rx.events()[-2:]] == ["z1", "z2"]
    # A gzip body with a bad event in the middle keeps the events before it.
    n = len(c.rx.events())
    expect(c.event(gzip.compress(b'{"event":"g1"}\n{"event":"g2"}{"event":""}{"event":"g4"}'),
                   headers={"Content-Encoding": "gzip"}), 400, 13, invalid_event_number=2)
    assert [body_text(e) for e in c.rx.events()[n:]] == ["g1", "g2"]
    # Undecodable gzip (truncated, corrupt, not gzip at all) is invalid data, nothing indexed.
    zipped = gzip.compress(b'{"event":"never"}' * 50)
    for bad in (zipped[:len(zipped) // 2], zipped[:10] + bytes(b ^ 0xFF for b in zipped[10:]),
                b'{"event":"plain"}'):
        expect(c.event(bad, headers={"Content-Encoding": "gzip"}), 400, 6, invalid_event_number=0)
    assert len(c.rx.events()) == n + 2
    # An empty gzip body has no data, like an empty plain one.
    expect(c.event(b"", headers={"Content-Encoding": "gzip"}), 400, 5)


def body_text(e):
    return e["event"]


def check_body_rules(c):
    rx = c.rx
    expect(c.event(""), 400, 5)
    expect(c.event("  \n "), 400, 5)
    before = len(rx.events())
    # Concatenated with and without whitespace; metadata and time kept as sent.
    expect(c.event('{"time":1767225600.000,"host":"h","source":"s","sourcetype":"st",'
                   '"index":"main","event":{"a":1},"fields":{"k":"v","l":["x","y"]}}'
                   '{"event":"b"}\n\t {"time":"1767225601.5","event":"c"}'), 200, 0)
    got = rx.events()[before:]
    assert [e["event"] for e in got] == [{"a": 1}, "b", "c"], got
    assert got[0]["time"] == 1767225600.0 and got[0]["host"] == "h" and got[0]["index"] == "main"
    assert got[0]["fields"] == {"k": "v", "l": ["x", "y"]} and got[1]["fields"] is None
    assert got[2]["time"] == "1767225601.5"
    assert all(e["channel"] == CHANNEL for e in got)
    # Stop at the first bad event, keep the ones before it.
    for body, code, at in [
        ('{"event":"k1"}{"event":"k2"}{"event":""}{"event":"never"}', 13, 2),
        ('{"event":"k3"}{"event":null}', 13, 1),
        ('{"event":"k4"}{"time":1}', 12, 1),
        ('{"event":"k5"}{"event":"x","fields":{"n":{"deep":1}}}', 15, 1),
        ('{"event":"k6"}{"event":"x","fields":{"n":1}}', 15, 1),
        ('{"event":"k7"}{"event":"x","index":"secret"}', 7, 1),
        ('{"event":"k8"}{"event":"x","time":"soon"}', 6, 1),
        ('{"event":"k9"}{"event":"x","host":5}', 6, 1),
        ('{"event":"k10"}{"event":"trunc', 6, 1),
        ('{"event":"k11"}[1,2]', 6, 1),
        ('{"event":"k12"} garbage', 6, 1),
    ]:
        n = len(rx.events())
        expect(c.event(body), 400, code, invalid_event_number=at)
        kept = [e["event"] for e in rx.events()[n:]]
        assert len(kept) == at and all(str(k).startswith("k") for k in kept), (body, kept)


def check_sizes(c):
    c.rx.settings(max_content_length=10_000)
    s, _, r = c.event('{"event":"' + "x" * 20_000 + '"}')
    assert s == 413 and r.getheader("Connection") == "close", s
    bomb = gzip.compress(b'{"event":"' + b"0" * 5_000_000 + b'"}')
    assert len(bomb) < 10_000
    s, _, _ = c.event(bomb, headers={"Content-Encoding": "gzip"})
    assert s == 413, s
    c.rx.settings(max_content_length=838860800)


def check_acks(c):
    rx = c.rx
    fresh = "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"  # not used by the earlier checks
    other = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    expect(c.event('{"event":1}', channel=None), 400, 10)
    expect(c.event('{"event":1}', channel="not-a-guid"), 400, 11)
    for i in range(3):
        expect(c.event('{"event":1}', channel=fresh), 200, 0, ackId=i)
    expect(c.event('{"event":1}', channel=other), 200, 0, ackId=0)
    s, body, _ = c.ack([0, 1, 2, 9], channel=fresh)
    assert s == 200 and body == {"acks": {"0": True, "1": True, "2": True, "9": False}}, body
    s, body, _ = c.ack([0, 1], channel=fresh)
    assert body == {"acks": {"0": False, "1": False}}, body  # forgotten after the first true
    s, body, _ = c.ack([0], channel=other)
    assert body == {"acks": {"0": True}}, body
    expect(c.ack([0], channel=None), 400, 10)
    # A partial request gets no ack id.
    s, body, _ = c.event('{"event":1}{"event":""}')
    assert s == 400 and "ackId" not in body, body
    # Slow and lost acks.
    rx.settings(ack_delay_ms=400)
    rx.fault("lose_acks", count=1)
    _, lost, _ = c.event('{"event":"lost"}')
    _, slow, _ = c.event('{"event":"slow"}')
    s, body, _ = c.ack([lost["ackId"], slow["ackId"]])
    assert body["acks"] == {str(lost["ackId"]): False, str(slow["ackId"]): False}, body
    h.wait_until(lambda: c.ack([slow["ackId"]])[1]["acks"][str(slow["ackId"])], 10,
                 "the slow ack")
    assert c.ack([lost["ackId"]])[1]["acks"][str(lost["ackId"])] is False
    assert [e["ack_lost"] for e in rx.events() if e["event"] in ("lost", "slow")] == [True, False]
    rx.settings(ack_delay_ms=0, ack=False)
    expect(c.ack([0]), 400, 14)
    expect(c.event('{"event":1}', channel=None), 200, 0)


def check_health(c):
    rx = c.rx
    assert c.health() == (200, {"text": "HEC is healthy", "code": 17})
    assert c.health(TOKEN)[0] == 200
    assert c.health("nope") == (400, {"text": "Invalid token", "code": 21})
    assert c.health("22222222-2222-2222-2222-222222222222")[1]["code"] == 22
    rx.settings(health_code=19)
    assert c.health() == (503, {"text": "HEC is unhealthy, ack service unavailable", "code": 19})
    rx.settings(health_code=17)


def check_faults(c):
    rx = c.rx
    rx.fault("busy")
    expect(c.event('{"event":1}'), 503, 9)
    n = len(rx.events())
    rx.fault("busy", invalid_event_number=1)
    expect(c.event('{"event":"p1"}{"event":"p2"}{"event":"p3"}'), 503, 9, invalid_event_number=1)
    assert [e["event"] for e in rx.events()[n:]] == ["p1"]
    rx.fault("invalid_event", invalid_event_number=2)
    expect(c.event('{"event":"q1"}{"event":"q2"}{"event":"q3"}'), 400, 6, invalid_event_number=2)
    rx.fault("500")
    expect(c.event('{"event":1}'), 500, 8)
    rx.fault("429", retry_after_secs=7)
    s, _, r = c.event('{"event":1}')
    assert s == 429 and r.getheader("Retry-After") == "7"
    rx.fault("502")
    assert c.event('{"event":1}')[0] == 502
    rx.fault("413")
    assert c.event('{"event":1}')[0] == 413
    n = rx.stats()["events_total"]
    rx.fault("drop_connection")
    try:
        c.event('{"event":"dropped"}')
        raise AssertionError("the connection was not dropped")
    except (http.client.RemoteDisconnected, ConnectionError):
        pass
    assert rx.stats()["events_total"] == n, "indexed before the drop"
    rx.fault("busy", count=0)
    for _ in range(3):
        expect(c.event('{"event":1}'), 503, 9)
    rx.clear_faults()
    expect(c.event('{"event":1}'), 200, 0)
    stats = rx.stats()
    assert stats["faults_pending"] == 0 and stats["faults_served_total"] >= 11, stats
    s, text = rx._call("POST", "/_sim/fault", {"kind": "nope"})
    assert s == 400, text


def check_raw(c):
    n = len(c.rx.events())
    s, body, _ = c.post("/services/collector/raw?sourcetype=syslog&index=main",
                        "line one\n\nline two\n")
    assert (s, body["code"]) == (200, 0), body
    got = c.rx.events()[n:]
    assert [e["event"] for e in got] == ["line one", "line two"]
    assert got[0]["sourcetype"] == "syslog" and got[0]["index"] == "main"


def main(args):
    with h.Workdir("hec-receiver") as work:
        rx = hec_fake.HecReceiver(
            args.build_dir, work,
            extra=["--ack", "--allowed-index", "main",
                   "--disabled-token", "22222222-2222-2222-2222-222222222222"])
        try:
            c = Client(rx)
            check_auth_and_encoding(c)
            check_body_rules(c)
            check_sizes(c)
            check_health(c)
            check_faults(c)
            check_raw(c)
            check_acks(c)
            # A restart on the same port keeps what was indexed (the helper archives it).
            total = len(rx.events())
            port = rx.port
            rx.stop()
            rx.start()
            assert rx.port == port and len(rx.events()) == total
            assert rx.process.stop() == 0
            rx.process.close()
            rx.process = None
            assert os.path.exists(os.path.join(work, "hec_receiver.1.stdout"))
        finally:
            rx.close()


if __name__ == "__main__":
    h.run_main(main)
