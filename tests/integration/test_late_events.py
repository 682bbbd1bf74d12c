"""Late-indexed events: once the agent has caught up, events appear in the simulator with an
effective_at the cursor has already passed. Those within lookback_secs are delivered exactly once
(also one in the very second of an event already delivered, which is not sent again); one older
than the lookback cannot be seen by a time cursor and is not delivered (the documented trade-off).
The checkpoint's `seen` set only holds ids inside the lookback and is pruned as time moves on."""

import collections
import os
import time

import harness as h

LOOKBACK = 20

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-late
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 2h
    lookback_secs: {lookback}
    max_requests_per_sec: 100
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


def main(args):
    with h.Workdir("late") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-late",
                          extra=["--backlog", "300", "--span-secs", "3600", "--seed", "5"])
        agent = None
        try:
            port = h.free_port()
            out = os.path.join(work, "out")
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, out=out, lookback=LOOKBACK))
            expected = set(sim.ids())
            agent = h.Agent(args.build_dir, work, cfg)

            def delivered():
                try:
                    return h.read_ndjson_ids(out)
                except (OSError, ValueError):
                    return []

            h.wait_until(lambda: set(delivered()) >= expected, 60, "the backlog")
            # An event a moment old, delivered normally; a late one will share its second.
            anchor_time = int(time.time()) - 2
            anchor = h.sim_generate(sim, 1, at=anchor_time)[0]
            expected.add(anchor)
            h.wait_until(lambda: anchor in delivered(), 30, "the anchor event")
            h.wait_until(lambda: (h.read_checkpoint(data, "openai") or {}).get("watermark", 0)
                         > anchor_time + 1, 30, "the cursor to pass the anchor event")

            now = int(time.time())
            late = h.sim_generate(sim, 5, at=now - LOOKBACK // 2)     # inside the lookback
            same_second = h.sim_generate(sim, 1, at=anchor_time)      # beside a delivered one
            too_late = h.sim_generate(sim, 1, at=now - 10 * LOOKBACK)  # older than the lookback
            h.wait_until(lambda: set(delivered()) >= set(late + same_second), 30,
                         "the late events")
            # A few more polls re-read the lookback: nothing may come twice.
            requests = sim.stats()["audit_log_requests_total"]
            h.wait_until(lambda: sim.stats()["audit_log_requests_total"] >= requests + 3, 30,
                         "three more polls")

            got = delivered()
            counts = collections.Counter(got)
            for i in late + same_second + [anchor]:
                assert counts[i] == 1, f"{i} delivered {counts[i]} times"
            assert max(counts.values()) == 1, "duplicates"
            assert too_late[0] not in counts, "an event older than the lookback was delivered"
            assert set(got) == expected | set(late + same_second)

            # `seen` holds only the lookback, and forgets the late ids once the cursor is a
            # lookback past them.
            cp = h.read_checkpoint(data, "openai")
            assert all(t >= cp["watermark"] - LOOKBACK for t in cp["seen"].values()), cp
            assert set(late) <= set(cp["seen"]), "late ids missing from the remembered set"
            forget_after = now - LOOKBACK // 2 + LOOKBACK

            def pruned():
                c = h.read_checkpoint(data, "openai")
                return c if c["watermark"] > forget_after + 1 else None

            cp = h.wait_until(pruned, 2 * LOOKBACK + 30, "the cursor to move a lookback on",
                              interval=0.5)
            assert not set(late) & set(cp["seen"]), "late ids not pruned from `seen`"
            assert all(t >= cp["watermark"] - LOOKBACK for t in cp["seen"].values()), cp
            print(f"{len(late)} late events and 1 in an already-sent second delivered once each; "
                  f"the one {10 * LOOKBACK} s late was not (lookback {LOOKBACK} s); "
                  f"`seen` holds {len(cp['seen'])} ids")
            assert agent.process.stop() == 0
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
