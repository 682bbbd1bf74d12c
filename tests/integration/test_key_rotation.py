"""Admin key rotation without a restart. The simulator's key is rotated (the old one revoked), so
the agent is refused and /readyz answers 503. (1) The new key is written to api_key_file and the
agent gets SIGHUP: it re-reads the file at once, leaving its 30 s slow retry early, and delivers
what was added meanwhile. (2) Rotated again without SIGHUP: the slow retry re-reads the file and
recovers within about 30 s. A SIGHUP while healthy only re-reads the file. No key is ever logged."""

import os
import signal
import time

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  openai_prod:
    type: openai_audit_logs
    api_key_file: {key_file}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 1h
    max_requests_per_sec: 100
sinks:
  out:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 100, timeout_ms: 50 }}
routes:
  - name: everything
    from: ["*"]
    to: [out]
"""

KEYS = ["sk-admin-rotation-one-1b9f", "sk-admin-rotation-two-8c4e", "sk-admin-rotation-three-d17a"]


def replace(path, text):
    """Atomically replaces a file, as a Kubernetes secret volume update does."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def main(args):
    with h.Workdir("key-rotation") as work:
        sim_key = os.path.join(work, "sim.key")
        agent_key = os.path.join(work, "agent.key")
        replace(sim_key, KEYS[0])
        replace(agent_key, KEYS[0])
        sim = h.Simulator(args.build_dir, work, admin_key_file=sim_key,
                          extra=["--backlog", "300", "--span-secs", "1800"])
        agent = None
        try:
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out,
                key_file=agent_key))
            agent = h.Agent(args.build_dir, work, cfg)

            def delivered():
                try:
                    return set(h.read_ndjson_ids(out))
                except (OSError, ValueError):
                    return set()

            h.wait_until(lambda: delivered() >= set(sim.ids()), 60, "the backlog")
            assert h.readyz(port)[0] == 200

            agent.process.signal(signal.SIGHUP)  # healthy: only re-reads the file
            h.wait_until(lambda: "reloaded the Admin API key" in agent.process.stderr(), 30,
                         "the reload on SIGHUP to be logged")
            assert h.readyz(port)[0] == 200

            durations = []
            for step, (new_key, use_sighup) in enumerate([(KEYS[1], True), (KEYS[2], False)]):
                replace(sim_key, new_key)  # the old key is revoked
                h.wait_until(lambda: h.readyz(port)[0] == 503, 30, "/readyz to report the refusal")
                # Events written while the agent is locked out.
                h.sim_generate(sim, 20)
                expected = set(sim.ids())
                replace(agent_key, new_key)
                started = time.monotonic()
                if use_sighup:
                    agent.process.signal(signal.SIGHUP)
                h.wait_until(lambda: h.readyz(port)[0] == 200, 60,
                             "/readyz to recover after the key was rotated")
                h.wait_until(lambda: delivered() >= expected, 30, "the events of the lockout")
                took = time.monotonic() - started
                durations.append(took)
                if use_sighup:
                    # The slow retry waits 30 s: recovering sooner shows SIGHUP ended the wait.
                    assert took < 10, f"SIGHUP recovery took {took:.1f} s"
                else:
                    assert took < 45, f"recovery by the slow retry took {took:.1f} s"

            got = h.read_ndjson_ids(out)
            assert len(got) == len(set(got)), "duplicates"
            text = h.scrape(port)
            assert not any(k in text for k in KEYS), "a key appeared in /metrics"
            assert agent.process.stop() == 0
            logs = agent.process.stderr() + agent.process.stdout()
            for key in KEYS:
                assert key not in logs, "a key appeared in the logs"
            assert logs.count("reloaded the Admin API key") >= 2, "SIGHUP reloads not logged"
            print(f"recovered {durations[0]:.1f} s after SIGHUP; {durations[1]:.1f} s by the "
                  f"slow retry alone (30 s)")
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
