#!/usr/bin/env bash
# Page processing (issue 13) against unpaper (Debian) on the same page, in one run:
# the benchmark page of crates/imaging/benches/process.rs (an A4 scan at 300 dpi in colour: a
# text sheet a little smaller than the glass, turned 2.5°, on a dark lid), written as PPM.
#
#   scanwire:  crates/imaging's `process_page` example: one thumbnail, sheet and skew
#              detection, deskew + crop in one resampling pass, blank check; reads the PPM and
#              writes the finished page as PPM.
#   unpaper:   unpaper 7.0.0 reading and writing the same files, (a) with its defaults
#              (filters, mask scan, deskew, border), (b) only what scanwire does: deskew and
#              the mask (content) scan, its noise/black/blur/gray filters and border scan off.
#
# The commands run in turns (one warm-up round, then RUNS rounds), one process each, file I/O
# included. What is compared is each process's CPU time, user + system (from wait4's rusage,
# so time spent waiting for a core on a loaded machine does not count), as the median over the
# rounds; wall time is shown too. Then `process_page --repeat 20` gives scanwire's CPU time
# per page without process start or I/O (this thread's run time), and `stage_times` the
# stages one by one. The issue's targets: <= 40 ms of CPU on one core for the processing, and
# >= 50x faster than unpaper doing the same.
#
# Usage: bench/processing-vs-unpaper.sh [RUNS]   (default 5; needs unpaper, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source bench/lib.sh
need "unpaper python3" unpaper python3

cargo build --release -q -p scanwire-imaging --examples
dir=$(realpath "${CARGO_TARGET_DIR:-target}/release/examples")
ex=$dir/process_page
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/processing-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$ex" --write-bench-page "$work/page.ppm"
only="--no-blackfilter --no-noisefilter --no-blurfilter --no-grayfilter --no-border-scan"
python3 - "$runs" \
    "scanwire process_page" "$ex $work/page.ppm $work/sw.ppm" \
    "unpaper (defaults)" "unpaper -q --overwrite $work/page.ppm $work/up.ppm" \
    "unpaper (deskew + mask scan)" "unpaper -q --overwrite $only $work/page.ppm $work/up2.ppm" <<'EOF'
import os, shlex, statistics, subprocess, sys, time
runs = int(sys.argv[1])
cmds = list(zip(sys.argv[2::2], sys.argv[3::2]))
wall = {n: [] for n, _ in cmds}
cpu = {n: [] for n, _ in cmds}
for round in range(runs + 1):
    for name, cmd in cmds:
        start = time.monotonic()
        p = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"{name}: exit status {status}")
        if round > 0:  # round 0 warms the page cache
            wall[name].append(time.monotonic() - start)
            cpu[name].append(ru.ru_utime + ru.ru_stime)
base = cmds[0][0]
med = lambda xs: statistics.median(xs)
print(f"| command | wall, median | CPU (user + system), median (min-max) | scanwire faster by (CPU) | (wall) |")
print("|---|---|---|---|---|")
for name, _ in cmds:
    c, w = med(cpu[name]), med(wall[name])
    ratio = "" if name == base else f"**{c / med(cpu[base]):.0f}x** | {w / med(wall[base]):.0f}x"
    print(f"| {name} | {w * 1000:.0f} ms | {c * 1000:.0f} ms ({min(cpu[name]) * 1000:.0f}-{max(cpu[name]) * 1000:.0f}) | {ratio or ' | '} |")
print(f"\n{runs} rounds; load average {os.getloadavg()[0]:.1f}")
EOF
echo
"$ex" --repeat 20 "$work/page.ppm"
"$dir/stage_times"
unpaper -vv --overwrite $only "$work/page.ppm" "$work/up2.ppm" 2>&1 | grep -E "rotation average|^rotate" || true
