"""`run --dry-run` pulls and routes, prints what each sink would have sent, sends nothing and
never writes a cursor."""

import json
import os

import harness as h

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-dry
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 2h
sinks:
  archive:
    type: file
    path: {out}/events.ndjson
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def main(args):
    with h.Workdir("dry-run") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-dry",
                          extra=["--backlog", "100", "--span-secs", "3600"])
        agent = None
        try:
            expected = set(sim.ids())
            port = h.free_port()
            data = os.path.join(work, "data")
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, out=out))
            agent = h.Agent(args.build_dir, work, cfg, extra=["--dry-run"])

            def printed():
                ids = []
                for line in agent.process.stdout().splitlines():
                    sink, _, body = line.partition("\t")
                    if sink == "archive" and body:
                        ids.append(json.loads(body)["metadata"]["uid"])  # OCSF by default
                return ids

            h.wait_until(lambda: set(printed()) >= expected, 60, "every event printed")
            # Another cycle must not print the same events again.
            requests = sim.stats()["audit_log_requests_total"]
            h.wait_until(lambda: sim.stats()["audit_log_requests_total"] > requests + 1, 30,
                         "two more polls")
            ids = printed()
            assert len(ids) == len(set(ids)), "dry run printed events twice"
            assert agent.process.stop() == 0
            assert not os.path.exists(out), "dry run wrote to the sink"
            assert not os.path.exists(os.path.join(data, "checkpoints", "openai.json")), \
                "dry run wrote a cursor"
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
