"""`siem-agent checkpoint show|reset`: show reports exactly what the agent persisted (text and
JSON); reset is refused while an agent holds the data_dir; `reset --to T` makes the next run
deliver again exactly the events from T on; reset without --to removes the checkpoint.

The same for a source with `api: organization_logs`, whose cursor is an id: show reports last_id,
not_before and newest_created_at; `reset --to T` makes the next run read the log from the start
and deliver exactly the logs created from T on (tenant-scoped ones included); reset without --to
removes the file."""

import json
import os
import subprocess
import time
import urllib.request

import harness as h

KEY = "sk-admin-cli-checkpoint-31b9e2"

CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
shutdown_timeout_secs: 10
sources:
  openai:
    type: openai_audit_logs
    api_key: {key}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 30h
    lookback_secs: 3600
    max_requests_per_sec: 1000
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 500, timeout_ms: 100 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def run(binary, *argv):
    return subprocess.run([binary, *argv], capture_output=True, text=True, timeout=60)


def read_checkpoint_file(path):
    """The payload of a framed checkpoint file (header line, then JSON)."""
    with open(path, "rb") as f:
        header, payload = f.read().split(b"\n", 1)
    assert header.startswith(b"siem-agent-checkpoint v1 "), header
    return json.loads(payload)


def show_json(binary, cfg):
    r = run(binary, "checkpoint", "show", "--config", cfg, "--format", "json")
    assert r.returncode == 0, (r.returncode, r.stderr)
    return json.loads(r.stdout)


def wait_delivered(out, expected, what):
    def done():
        try:
            return set(h.read_ndjson_ids(out)) >= set(expected)
        except (OSError, ValueError):
            return False
    h.wait_until(done, 120, what)


VARIANT_CONFIG = """
data_dir: {data}
api: {{ address: "127.0.0.1:{port}" }}
shutdown_timeout_secs: 10
sources:
  seed:
    type: openai_audit_logs
    api: organization_logs
    api_key: {key}
    base_url: {base_url}
    poll_interval_secs: 1
    start_at: 30h
    max_requests_per_sec: 1000
sinks:
  archive:
    type: file
    encoding: raw
    path: {out}/events.ndjson
    batch: {{ max_events: 500, timeout_ms: 100 }}
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""


def newest_ingested(sim):
    """The id the variant lists last in ingestion order."""
    req = urllib.request.Request(f"{sim.base_url}/organization_logs?order=desc&limit=1",
                                 headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["data"][0]["id"]


def scenario_organization_logs(binary, args):
    with h.Workdir("cli-checkpoint-variant") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "3000", "--span-secs", str(24 * 3600), "--seed", "6"])
        agent = None
        try:
            data = os.path.join(work, "data")
            cp_path = os.path.join(data, "checkpoints", "seed.organization_logs.json")

            def config(name, out):
                return h.write_config(os.path.join(work, name), VARIANT_CONFIG.format(
                    data=data, port=h.free_port(), key=KEY, base_url=sim.base_url, out=out))

            out1 = os.path.join(work, "out1")
            cfg = config("agent.yaml", out1)
            shown = show_json(binary, cfg)
            assert shown["exists"] is False and shown["api"] == "organization_logs", shown
            assert shown["path"] == cp_path and shown["start_at"] == "30h", shown

            # A late-indexed log (old created_at, ingested last) so that ingestion and time differ.
            sim.generate(1, at=int(time.time()) - 20 * 3600)
            expected = sim.ids(tenant_only="all")
            agent = h.Agent(args.build_dir, work, cfg)
            wait_delivered(out1, expected, "the variant's first run to deliver the backlog")
            h.wait_until(lambda: os.path.exists(cp_path), 30, "a checkpoint file")
            r = run(binary, "checkpoint", "reset", "--config", cfg, "--to", "1h")
            assert r.returncode == 1 and "refused" in r.stderr, (r.returncode, r.stderr)
            assert agent.process.stop(timeout=30) == 0
            agent.close()
            agent = None

            # show reports exactly what the agent persisted.
            persisted = read_checkpoint_file(cp_path)
            assert persisted["last_id"] == newest_ingested(sim), persisted
            shown = show_json(binary, cfg)
            assert shown["exists"] is True and shown["source"] == "seed", shown
            for key in ("last_id", "not_before", "not_before_time", "newest_created_at"):
                assert shown[key] == persisted[key], (key, shown, persisted)
            now = int(time.time())
            assert now - 31 * 3600 < shown["not_before"] < now - 29 * 3600, shown
            assert shown["not_before"] < shown["newest_created_at"] <= now + 1, shown
            assert shown["newest_created_at_time"].endswith("Z"), shown
            r = run(binary, "checkpoint", "show", "--config", cfg)
            assert r.returncode == 0, r.stderr
            for line in (f"last id:            {persisted['last_id']}",
                         f"not before:         {persisted['not_before_time']} "
                         f"({persisted['not_before']})",
                         "newest created_at:  ", cp_path):
                assert line in r.stdout, (line, r.stdout)

            # reset --to T: no last id, not_before T; the next run reads the log from the start
            # and delivers exactly the logs created from T on.
            to = now - 5 * 3600
            r = run(binary, "checkpoint", "reset", "--config", cfg, "--to", str(to))
            assert r.returncode == 0, (r.returncode, r.stderr)
            assert f"last id:            {persisted['last_id']} -> (none" in r.stdout, r.stdout
            assert f"-> {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(to))} ({to})" in r.stdout, \
                r.stdout
            shown = show_json(binary, cfg)
            assert (shown["last_id"], shown["not_before"], shown["newest_created_at"]) == \
                (None, to, 0), shown
            assert shown["newest_created_at_time"] is None, shown

            redelivered = sim.ids(gte=to, tenant_only="all")
            assert 100 < len(redelivered) < len(expected), len(redelivered)
            out2 = os.path.join(work, "out2")
            agent = h.Agent(args.build_dir, work, config("agent2.yaml", out2), name="agent2")
            wait_delivered(out2, redelivered, "the variant's run after reset --to to deliver from T")
            assert agent.process.stop(timeout=30) == 0
            agent.close()
            agent = None
            got = h.read_ndjson_ids(out2)
            assert sorted(got) == sorted(redelivered), (
                f"after reset --to: {len(got)} delivered, {len(redelivered)} expected; "
                f"{len(set(got) - set(redelivered))} older than T")
            # Caught up again: the cursor is back at the end of the log.
            assert show_json(binary, cfg)["last_id"] == newest_ingested(sim)

            # reset without --to removes the file; start_at applies again.
            r = run(binary, "checkpoint", "reset", "--config", cfg)
            assert r.returncode == 0, (r.returncode, r.stderr)
            assert "removed checkpoint" in r.stdout and "start_at (30h)" in r.stdout, r.stdout
            assert not os.path.exists(cp_path)
            assert show_json(binary, cfg)["exists"] is False
        finally:
            if agent:
                agent.close()
            sim.close()


def main(args):
    binary = h.agent_binary(args.build_dir)
    scenario_organization_logs(binary, args)
    with h.Workdir("cli-checkpoint") as work:
        sim = h.Simulator(args.build_dir, work, admin_key=KEY,
                          extra=["--backlog", "3000", "--span-secs", str(24 * 3600), "--seed", "5"])
        agent = None
        try:
            data = os.path.join(work, "data")
            cp_path = os.path.join(data, "checkpoints", "openai.json")

            def config(name, out):
                return h.write_config(os.path.join(work, name), CONFIG.format(
                    data=data, port=h.free_port(), key=KEY, base_url=sim.base_url, out=out))

            out1 = os.path.join(work, "out1")
            cfg = config("agent.yaml", out1)

            # Before any run: no checkpoint, exit 0, start_at named.
            shown = show_json(binary, cfg)
            assert shown["exists"] is False and shown["start_at"] == "30h", shown
            assert shown["path"] == cp_path, shown
            r = run(binary, "checkpoint", "reset", "--config", cfg)
            assert r.returncode == 0 and "nothing to reset" in r.stdout, (r.returncode, r.stdout)

            expected = sim.ids()
            agent = h.Agent(args.build_dir, work, cfg)
            wait_delivered(out1, expected, "the first run to deliver the backlog")

            # While the agent runs: show works, reset is refused and changes nothing.
            h.wait_until(lambda: os.path.exists(cp_path), 30, "a checkpoint file")
            assert show_json(binary, cfg)["exists"] is True
            origin = show_json(binary, cfg)["origin"]
            for argv in (["--to", "1h"], []):
                r = run(binary, "checkpoint", "reset", "--config", cfg, *argv)
                assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
                assert "refused" in r.stderr and "in use" in r.stderr, r.stderr
                # The agent keeps rewriting its checkpoint, but never its origin: a reset that
                # went through would have moved it (--to) or removed the file.
                shown = show_json(binary, cfg)
                assert shown["exists"] is True and shown["origin"] == origin, (shown, origin)

            assert agent.process.stop(timeout=30) == 0
            agent.close()
            agent = None

            # show after the run reports exactly what the agent persisted.
            persisted = read_checkpoint_file(cp_path)
            shown = show_json(binary, cfg)
            assert shown["exists"] is True and shown["source"] == "openai", shown
            assert shown["watermark"] == persisted["watermark"], (shown, persisted)
            assert shown["origin"] == persisted["origin"], (shown, persisted)
            assert shown["remembered_ids"] == len(persisted["seen"]) > 0, (shown, persisted)
            assert shown["watermark_time"] == persisted["watermark_time"]
            now = int(time.time())
            assert now - 31 * 3600 < shown["origin"] < now - 29 * 3600, shown
            assert shown["origin"] < shown["watermark"] <= now + 1, shown
            r = run(binary, "checkpoint", "show", "--config", cfg)
            assert r.returncode == 0, r.stderr
            assert f"{persisted['watermark_time']} ({persisted['watermark']})" in r.stdout, r.stdout
            assert cp_path in r.stdout and f"remembered ids:  {len(persisted['seen'])}" in r.stdout

            # reset --to T: watermark and origin T, nothing remembered; a run re-delivers from T.
            to = now - 5 * 3600
            r = run(binary, "checkpoint", "reset", "--config", cfg, "--to", str(to))
            assert r.returncode == 0, (r.returncode, r.stderr)
            assert f"-> {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(to))} ({to})" in r.stdout, \
                r.stdout
            assert f"remembered ids:  {len(persisted['seen'])} -> 0" in r.stdout, r.stdout
            shown = show_json(binary, cfg)
            assert (shown["watermark"], shown["origin"], shown["remembered_ids"]) == (to, to, 0)

            redelivered = sim.ids(gte=to)
            assert 100 < len(redelivered) < len(expected), len(redelivered)
            out2 = os.path.join(work, "out2")
            agent = h.Agent(args.build_dir, work, config("agent2.yaml", out2), name="agent2")
            wait_delivered(out2, redelivered, "the run after reset --to to deliver from T")
            assert agent.process.stop(timeout=30) == 0
            agent.close()
            agent = None
            got = h.read_ndjson_ids(out2)
            assert sorted(got) == sorted(redelivered), (
                f"after reset --to: {len(got)} delivered, {len(redelivered)} expected; "
                f"{len(set(got) - set(redelivered))} older than T")

            # Usage errors for --to.
            r = run(binary, "checkpoint", "reset", "--config", cfg, "--to", "tomorrow")
            assert r.returncode == 2 and "--to" in r.stderr, (r.returncode, r.stderr)
            r = run(binary, "checkpoint", "reset", "--config", cfg, "--to", str(now + 3600))
            assert r.returncode == 2 and "future" in r.stderr, (r.returncode, r.stderr)
            r = run(binary, "checkpoint", "show", "--config", cfg, "--source", "nope")
            assert r.returncode == 2 and "openai" in r.stderr, (r.returncode, r.stderr)

            # reset without --to removes the checkpoint; start_at applies again.
            r = run(binary, "checkpoint", "reset", "--config", cfg)
            assert r.returncode == 0, (r.returncode, r.stderr)
            assert "removed checkpoint" in r.stdout and "start_at (30h)" in r.stdout, r.stdout
            assert not os.path.exists(cp_path)
            assert show_json(binary, cfg)["exists"] is False
        finally:
            if agent:
                agent.close()
            sim.close()


if __name__ == "__main__":
    h.run_main(main)
