#!/usr/bin/env bash
# The cost of running a driver in its own process (issue 17): a host's startup, one A4
# 300 dpi colour page in process and through a host (in turns), and the relay's throughput
# across the process boundary (1 GiB in 4 MiB bands from memory, no rendering).
# The bench binary is its own driver host (crates/host/benches/host.rs).
#
# Usage: bench/driver-host.sh
# Needs: nothing outside the repository. Builds the bench profile into $CARGO_TARGET_DIR
# (default target/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo bench -p scanwire-host --bench host
