"""The CLI contract: `validate` exits 0 on a valid file and 78 with FILE:LINE:COL messages on an
invalid one (every problem at once); usage errors exit 2; `version` prints the version; `run`
refuses an invalid configuration with 78 before starting anything."""

import os
import re
import subprocess

import harness as h

VALID = """
data_dir: {data}
api: {{ address: "127.0.0.1:0" }}
sources:
  openai_prod:
    type: openai_audit_logs
    api_key: ${{CLI_TEST_KEY}}
sinks:
  archive:
    type: file
    encoding: raw
    path: archive.ndjson
routes:
  - name: everything
    from: ["*"]
    to: [archive]
"""

INVALID = """data_dir: {data}
sources:
  openai_prod:
    type: openai_audit_logs
    api_key: sk-admin-x
    page_size: 500
    poll_intervl_secs: 10
sinks:
  archive:
    type: file
    encoding: raw
    path: archive.ndjson
    batch: {{ max_events: lots }}
  unused:
    type: stdout
    encoding: raw
routes:
  - name: everything
    from: [openai_prd]
    to: [archive, splunk]
"""


def run(binary, *argv, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([binary, *argv], capture_output=True, text=True, timeout=60, env=full_env)


def main(args):
    binary = h.agent_binary(args.build_dir)
    with h.Workdir("cli") as work:
        data = os.path.join(work, "data")
        valid = h.write_config(os.path.join(work, "valid.yaml"), VALID.format(data=data))
        r = run(binary, "validate", "--config", valid, env={"CLI_TEST_KEY": "sk-admin-cli"})
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        assert "valid" in r.stdout

        # An unset variable without a default is an error at its position.
        env = dict(os.environ)
        env.pop("CLI_TEST_KEY", None)
        r = subprocess.run([binary, "validate", "--config", valid], capture_output=True, text=True,
                           env=env, timeout=60)
        assert r.returncode == 78, (r.returncode, r.stderr)
        assert re.search(r"valid\.yaml:7:\d+: .*CLI_TEST_KEY", r.stderr), r.stderr

        invalid = h.write_config(os.path.join(work, "invalid.yaml"), INVALID.format(data=data))
        r = run(binary, "validate", "--config", invalid)
        assert r.returncode == 78, (r.returncode, r.stderr)
        err = r.stderr
        expectations = [
            r"invalid\.yaml:6:\d+: .*page_size",            # out of range
            r"invalid\.yaml:7:5: .*poll_intervl_secs.*did you mean.*poll_interval_secs",
            r"invalid\.yaml:13:\d+: .*max_events",          # wrong type
            r"invalid\.yaml:14:3: .*unused",                 # sink used by no route
            r"invalid\.yaml:19:\d+: .*openai_prd.*did you mean",  # unknown source in a route
            r"invalid\.yaml:20:\d+: .*splunk",                    # unknown sink in a route
        ]
        for pattern in expectations:
            assert re.search(pattern, err), f"missing /{pattern}/ in:\n{err}"

        broken = h.write_config(os.path.join(work, "broken.yaml"), "sources: [\n  a: b\n")
        r = run(binary, "validate", "--config", broken)
        assert r.returncode == 78, r.returncode
        assert re.search(r"broken\.yaml:\d+:\d+: ", r.stderr), r.stderr

        r = run(binary, "validate", "--config", os.path.join(work, "missing.yaml"))
        assert r.returncode == 78, r.returncode
        assert "missing.yaml" in r.stderr

        r = run(binary, "run", "--config", invalid)
        assert r.returncode == 78, r.returncode

        r = run(binary, "frobnicate")
        assert r.returncode == 2, r.returncode
        r = run(binary, "validate")
        assert r.returncode == 2, r.returncode

        r = run(binary, "version")
        assert r.returncode == 0 and re.match(r"siem-agent \d+\.\d+\.\d+", r.stdout), r.stdout


if __name__ == "__main__":
    h.run_main(main)
