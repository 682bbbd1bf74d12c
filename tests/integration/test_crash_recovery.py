"""SIGKILL the agent at several points mid-stream and restart it each time: every id the simulator
holds still ends up in the file sink. Duplicates are allowed only for the uncommitted tail; the
test prints how many there were."""

import collections
import os
import random
import signal

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-crash-test
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    page_size: 100
    max_requests_per_sec: 25
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 100, timeout_ms: 50 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""

TOTAL = 20000


def main(args):
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    with h.Workdir("crash") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-crash-test",
                          extra=["--backlog", str(TOTAL), "--span-secs", "86400", "--seed", "11"])
        agent = None
        try:
            expected = set(sim.ids())  # tenant-scoped events are not in the default query
            assert len(expected) > TOTAL * 3 // 4
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out))

            def count():
                try:
                    return len(h.read_ndjson_ids(out))
                except (OSError, ValueError):
                    # A line cut by SIGKILL can only be the last one; it is re-sent after restart.
                    return len(_complete_lines(out))

            kills = 0
            for round_no in range(5):
                agent = h.Agent(args.build_dir, work, cfg, name=f"agent{round_no}")
                target = min(len(expected) - 1, count() + rng.randint(500, 3500))
                h.wait_until(lambda: count() >= target, 120, f"{target} events before kill")
                agent.process.signal(signal.SIGKILL)
                agent.process.wait(timeout=10)
                agent.close()
                kills += 1
            agent = h.Agent(args.build_dir, work, cfg, name="agent-final")
            h.wait_until(lambda: set(_complete_ids(out)) >= expected, 300, "every id after restarts")
            got = _complete_ids(out)
            counts = collections.Counter(got)
            dups = sum(c - 1 for c in counts.values() if c > 1)
            missing = expected - set(got)
            assert not missing, f"{len(missing)} ids lost"
            print(f"{kills} SIGKILLs; {len(got)} lines for {len(expected)} ids; {dups} duplicates "
                  f"(re-sent uncommitted tail)")
            rc = agent.process.stop(timeout=30)
            assert rc == 0, rc
        finally:
            if agent:
                agent.close()
            sim.close()


def _complete_lines(out):
    path = os.path.join(out, "events.ndjson")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    return [l for l in data.split(b"\n")[:-1] if l.strip()]


def _complete_ids(out):
    import json
    ids = []
    for line in _complete_lines(out):
        try:
            ids.append(h.event_id(json.loads(line)))
        except ValueError:
            pass  # a line torn by SIGKILL; its event is re-sent after the restart
    return ids


if __name__ == "__main__":
    h.run_main(main)
