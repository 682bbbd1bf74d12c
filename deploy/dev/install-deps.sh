#!/usr/bin/env bash
# Installs every Debian 12 package needed to build siem-agent and run all of its tests.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3 clang-format
  libcurl4-openssl-dev libsimdjson-dev libyaml-cpp-dev librdkafka-dev prometheus-cpp-dev
  libexpected-dev libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev zlib1g-dev libssl-dev
  libisal-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus   # promtool, for the metrics and alert-rule checks
  kcat         # a real Kafka consumer, for the Kafka sink's tests
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
