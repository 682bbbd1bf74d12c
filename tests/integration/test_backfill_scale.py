"""Backfill at scale: 250,000 events over 90 days of simulated time, read with a small
max_window_events (2,000) so the source must halve its windows. Every id of the default
(non-tenant) query reaches the file sink exactly once, the agent's peak RSS stays bounded (the
backlog is never held whole), and halved windows are counted. Prints duration, RSS and rates."""

import collections
import os
import time

import harness as h

EVENTS = 250_000
SPAN_SECS = 90 * 86400
MAX_WINDOW_EVENTS = 2000
# The agent holds at most one window plus bounded sink buffers; the whole backlog's raw JSON is
# ~146 MiB. 128 MiB = one window (~3 MiB) + the sink buffer's byte bound (64 MiB) + the process;
# it fails if windows (or the data set) were ever held whole.
MAX_PEAK_RSS_MIB = 128

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
log: {{ level: info, format: text }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: sk-admin-scale
    organization_id: org-scale
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 2170h
    lookback_secs: 300
    page_size: 100
    max_requests_per_sec: 1000
    max_window_events: {max_window}
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 1000, timeout_ms: 200 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def main(args):
    with h.Workdir("backfill-scale") as work:
        sim = h.Simulator(args.build_dir, work, admin_key="sk-admin-scale",
                          extra=["--backlog", str(EVENTS), "--span-secs", str(SPAN_SECS),
                                 "--seed", "250"])
        agent = None
        try:
            expected = sim.ids()
            assert EVENTS * 3 // 4 < len(expected) <= EVENTS, len(expected)
            port = h.free_port()
            out = os.path.join(work, "out")
            data = os.path.join(work, "data")
            cfg = h.write_config(os.path.join(work, "agent.yaml"), CONFIG.format(
                data=data, port=port, base_url=sim.base_url, out=out,
                max_window=MAX_WINDOW_EVENTS))
            started = time.monotonic()
            agent = h.Agent(args.build_dir, work, cfg)

            def sent():
                return h.metric_value(h.scrape_or_empty(port),
                                      "siem_agent_component_sent_events_total",
                                      component_id="archive") or 0

            h.wait_until(lambda: sent() >= len(expected), 170,
                         f"{len(expected)} events in the file sink", interval=0.5)
            elapsed = time.monotonic() - started
            rss = h.peak_rss_mib(agent.process.proc.pid)
            text = h.scrape(port)

            got = h.read_ndjson_ids(out)
            counts = collections.Counter(got)
            dups = sum(c - 1 for c in counts.values() if c > 1)
            missing = set(expected) - set(got)
            assert not missing, f"{len(missing)} ids never delivered"
            assert set(got) == set(expected), f"{len(set(got) - set(expected))} unexpected ids"
            assert dups == 0, f"{dups} duplicates in a run without faults"

            halved = h.metric_value(text, "siem_agent_openai_windows_halved_total",
                                    component_id="openai", organization_id="org-scale")
            assert halved is not None and halved > 0, f"windows halved: {halved}"
            pages = h.metric_value(text, "siem_agent_http_client_requests_total",
                                   component_id="openai", status="200")
            checkpoint = h.read_checkpoint(data, "openai")
            assert checkpoint is not None
            assert checkpoint["watermark"] >= sim.stats()["newest_effective_at"] - 300, checkpoint
            print(f"backfill: {len(expected)} events over 90 days in {elapsed:.1f} s "
                  f"({len(expected) / elapsed:,.0f} events/s), {pages:.0f} pages, "
                  f"{halved:.0f} windows halved, agent peak RSS {rss:.1f} MiB, "
                  f"{len(checkpoint['seen'])} ids remembered in the checkpoint; the simulator "
                  f"holds {sim.stats()['event_json_bytes'] / 2**20:.0f} MiB of event JSON")
            assert rss < MAX_PEAK_RSS_MIB, f"peak RSS {rss:.1f} MiB >= {MAX_PEAK_RSS_MIB} MiB"
            assert agent.process.stop(timeout=30) == 0
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
