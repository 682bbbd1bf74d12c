#!/usr/bin/env bash
# Quickstart: install, build, start the OpenAI audit-log simulator with a realistic backlog, and run
# the agent with config/examples/quickstart.yaml. Events scroll on stdout and are archived under
# ./quickstart-data/archive; metrics are at http://127.0.0.1:9598/metrics. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${SKIP_INSTALL:-0}" != 1 ]; then deploy/dev/install-deps.sh; fi
deploy/dev/build.sh

export OPENAI_ADMIN_KEY="sk-admin-quickstart-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port_file=$(mktemp)
build/tests/openai_sim --port 0 --port-file "$port_file" --admin-key "$OPENAI_ADMIN_KEY" \
  --backlog 5000 --span-secs 86400 --rate 2 >/dev/null &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
[ -s "$port_file" ] || { echo "the OpenAI simulator did not start" >&2; exit 1; }
export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$port_file")/v1"

echo "OpenAI simulator on $OPENAI_BASE_URL (5,000 events over the last 24h, 2 new per second)"
echo "Metrics: http://127.0.0.1:9598/metrics   Health: /healthz /readyz   Archive: ./quickstart-data/archive"
build/siem-agent run --config config/examples/quickstart.yaml
