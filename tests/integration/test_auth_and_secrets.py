"""A revoked/wrong admin key makes /readyz answer 503 naming the source and the fix; rewriting the
key file recovers without a restart. The configured key never appears in logs or metrics."""

import json
import os

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: debug, format: json }}
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
routes:
  - name: everything
    from: ["*"]
    to: [out]
"""

GOOD = "sk-admin-good-key-7f3a9c1e55d2"
BAD = "sk-admin-revoked-key-0b8e4d2a91c6"


def main(args):
    with h.Workdir("auth") as work:
        sim_key = os.path.join(work, "sim.key")
        with open(sim_key, "w") as f:
            f.write(GOOD)
        agent_key = os.path.join(work, "agent.key")
        with open(agent_key, "w") as f:
            f.write(BAD + "\n")
        sim = h.Simulator(args.build_dir, work, admin_key_file=sim_key,
                          extra=["--backlog", "200", "--span-secs", "600"])
        agent = None
        try:
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out,
                key_file=agent_key))
            agent = h.Agent(args.build_dir, work, cfg)

            def not_ready():
                try:
                    status, body = h.http_get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                except OSError:
                    return None
                return (status, body) if status == 503 and "openai_prod" in body else None

            status, body = h.wait_until(not_ready, 60, "/readyz to report the bad key")
            reasons = json.loads(body)["reasons"]
            assert any("Admin API key" in r for r in reasons), reasons
            assert BAD not in body and GOOD not in body

            with open(agent_key, "w") as f:
                f.write(GOOD + "\n")
            h.wait_until(lambda: h.http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 120,
                         "/readyz to recover after the key file was fixed")
            expected = set(sim.ids())
            h.wait_until(lambda: os.path.exists(os.path.join(out, "events.ndjson")) and
                         set(h.read_ndjson_ids(out)) == expected, 60, "every event after recovery")
            text = h.scrape(port)
            assert BAD not in text and GOOD not in text, "a key appeared in /metrics"
            assert agent.process.stop() == 0
            logs = agent.process.stderr() + agent.process.stdout()
            assert BAD not in logs, "the bad key appeared in the logs"
            assert GOOD not in logs, "the good key appeared in the logs"
            assert "401" in logs or "Admin API key" in logs, "the auth failure was not logged"
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
