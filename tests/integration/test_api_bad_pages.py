"""Bad pages from the audit-log endpoint: a server whose pagination loops (a cursor of this window
comes back; a page whose last_id is the `after` it was asked with), a body cut off halfway, and
has_more true with no data. Each is logged clearly, counted in errors_total, and retried with
backoff; nothing of a window that could not be read is sent, the cursor does not move (the window
is read again from its start), the agent never spins, and every id arrives exactly once."""

import collections
import os
import re
from urllib.parse import unquote

import harness as h

PAGE = 50

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-bad-pages
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 48h
    lookback_secs: 60
    page_size: {page}
    max_requests_per_sec: 1000
    timeout_secs: 5
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def query(target):
    return dict(p.split("=", 1) for p in unquote(target.split("?", 1)[1]).split("&"))


def main(args):
    with h.Workdir("bad-pages") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-bad-pages",
                          extra=["--backlog", "3000", "--span-secs", "86400", "--seed", "9"])
        agent = None
        try:
            expected = sim.ids()
            pages = -(-len(expected) // PAGE)
            assert pages > 10
            # Faults apply to the agent's requests in order (`slow` with no delay = a normal
            # answer). The first window covers the whole backlog.
            for _ in range(2):
                # Pages 1 and 2 fine, then page 1 again: cursor L1 comes back -> loop.
                sim.fault("slow", count=2, delay_ms=0)
                sim.fault("loop_cursor")
            # Page 1 fine, then page 1 again for after=L1: last_id == after.
            sim.fault("slow", count=1, delay_ms=0)
            sim.fault("loop_cursor")
            sim.fault("truncated")
            sim.fault("has_more_empty")
            port = h.free_port()
            out = os.path.join(work, "out")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=os.path.join(work, "data"), port=port, base_url=sim.base_url, out=out,
                page=PAGE))
            agent = h.Agent(args.build_dir, work, cfg)
            h.wait_until(lambda: os.path.exists(os.path.join(out, "events.ndjson")) and
                         len(h.read_ndjson_ids(out)) >= len(expected), 120,
                         "every event despite bad pages")
            h.wait_until(lambda: sim.stats()["faults_pending"] == 0, 30, "every fault served")

            got = h.read_ndjson_ids(out)
            counts = collections.Counter(got)
            assert set(got) == set(expected), "ids differ"
            assert max(counts.values()) == 1, "duplicates: a window that failed was sent"

            text = h.scrape(port)

            def errors(kind):
                return h.metric_value(text, "siem_agent_component_errors_total",
                                      component_id="openai", error_type=kind) or 0

            assert errors("pagination_loop") == 2, errors("pagination_loop")
            # last_id == after (1) and has_more without data or last_id (1).
            assert errors("malformed_page") == 2, errors("malformed_page")
            assert errors("connection") == 1, errors("connection")  # the cut-off body
            retries = h.metric_value(text, "siem_agent_component_retries_total",
                                     component_id="openai")
            assert retries >= 5, retries

            # The two loops: each time the window was read again from its start (no `after`,
            # the same effective_at[gte]), so the cursor did not move.
            log = [r for r in h.sim_requests(sim) if r["endpoint"] == "audit_logs"]
            first = query(log[0]["target"])
            loops = [i for i, r in enumerate(log) if r["fault"] == "loop_cursor"]
            assert len(loops) == 3, loops
            for i in loops[:2]:
                again = query(log[i + 1]["target"])
                assert "after" not in again, log[i + 1]
                assert again["effective_at[gte]"] == first["effective_at[gte]"], (again, first)
            # No spinning: the window was read three times at most, plus the retried requests.
            assert len(log) <= 3 * (pages + 1) + 10, len(log)

            logs = agent.process.stderr()
            assert len(re.findall(r"pagination loops: cursor \S+ came back", logs)) == 2, logs
            assert logs.count("the cursor stays at") == 2
            assert "reading the window again in" in logs
            assert "pagination did not advance" in logs
            assert "has_more is true but there is no last_id" in logs
            assert "transfer closed" in logs or "partial" in logs.lower(), "truncation not logged"
            print(f"{len(log)} requests for {pages} pages; errors: pagination_loop 2, "
                  f"malformed_page 2, connection 1; {retries:.0f} retries")
            assert agent.process.stop() == 0
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
