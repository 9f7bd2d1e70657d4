#!/usr/bin/env bash
# Issue 17's budget: with the driver in a host process, the eSCL and SANE benchmarks' ratios
# must stay within 5 % of in-process serving. The ratio of two ratios with the same local
# denominator is the ratio of the two network (or isolated) times, so this script measures
# those directly, in PAIRS: every round runs each job once against a server with a driver
# host and once against a `--no-isolate` server (or `scan --isolate` against `scan`), the
# order alternating between rounds, and reports the median of the per-round ratios with its
# quartiles. Pairing takes the machine's drift out: separate runs of the earlier benchmarks
# moved their local denominators by up to 15 %.
#
# Jobs (A4, 300 dpi):
#   escl-*    the 10-page feeder job of bench/escl-client-vs-local.sh: `scanwire scan -d
#             http://…/eSCL` from `scanwire serve` (virtual scanner), colour/gray, PNM/PNG
#   airscan-* bench/airscan-vs-local.sh's same-client row: sane-airscan's `scanimage -d
#             airscan:` fetching one colour page from `scanwire serve -d sane:test:0`
#   sane-*    bench/sane-vs-scanimage.sh's job: `scanwire scan -d sane:test:0` colour, with
#             `--isolate` against without
# Each row also shows both settings' median wall times and, where the earlier benchmark has
# one, the local baseline's median (run in the same rounds), so the earlier ratios can be
# read off both ways.
#
# Usage: [ONLY=word] bench/isolation-ratios.sh [ROUNDS]    (default 21; ONLY: the jobs whose
# name contains the word, e.g. ONLY=escl)
# Needs: scanimage (sane-utils), sane-airscan, the SANE test backend (libsane1), curl,
# python3. Builds the release binary (or SCANWIRE_BIN). Network: 127.0.0.1 only; every SANE
# configuration is private (test and airscan with discovery off, loopback devices only).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-21}
source bench/lib.sh
need "sane-utils sane-airscan libsane1 curl python3" scanimage curl python3
scanwire_bin

WORK=$(mktemp -d "${BENCH_DIR:-/dev/shm}/isolation-ratios.XXXXXX")
PIDS=()
trap bench_cleanup EXIT
sane_test_config "$WORK/test"
: >"$WORK/none.conf"
mkdir -p "$WORK/none" && : >"$WORK/none/dll.conf"

# serve NAME SANE_DIR ARGS...: `scanwire serve` on a free port; sets PORT_<NAME>, and a
# sane-airscan configuration for it in $WORK/air-NAME.
serve() {
    local name=$1 conf=$2 port
    shift 2
    port=$(free_port)
    SANE_CONFIG_DIR=$conf "$bin" serve --listen "127.0.0.1:$port" "$@" >"$WORK/server-$name.log" 2>&1 &
    PIDS+=($!)
    eval "PORT_$name=$port"
    airscan_config "$WORK/air-$name" "$port"
    wait_for_serve "$port" "$WORK/server-$name.log"
}
serve vhost "$WORK/none" --set sheets=10
serve vproc "$WORK/none" --set sheets=10 --no-isolate
serve shost "$WORK/test" --device sane:test:0 --set 'test-picture=Color pattern'
serve sproc "$WORK/test" --device sane:test:0 --set 'test-picture=Color pattern' --no-isolate

echo "== scanwire $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds"
WORK=$WORK BIN=$bin ROUNDS=$ROUNDS ONLY=${ONLY:-} PORT_vhost=$PORT_vhost PORT_vproc=$PORT_vproc \
    python3 - <<'EOF'
import os, statistics, subprocess, sys, time

work, bin, rounds = os.environ["WORK"], os.environ["BIN"], int(os.environ["ROUNDS"])
area = ["-l", "0", "-t", "0", "-x", "210", "-y", "297"]
none = {**os.environ, "SANE_CONFIG_DIR": f"{work}/none"}
test = {**os.environ, "SANE_CONFIG_DIR": f"{work}/test"}

def escl(server, mode, fmt):
    url = f"http://127.0.0.1:{os.environ['PORT_' + server]}/eSCL"
    return ([bin, "scan", "-d", url, "--source", "adf", "--pages", "10", "--mode", mode,
             "--resolution", "300", *area, "--quiet", "-o", f"{work}/e-{server}-%02d.{fmt}"], none)

def airscan(server, fmt):
    env = {**os.environ, "SANE_CONFIG_DIR": f"{work}/air-{server}"}
    return (["scanimage", "-d", "airscan:e0:Scanwire", "--source",
             "Flatbed", "--mode", "Color", "--resolution", "300", *area, f"--format={fmt}",
             "-o", f"{work}/a-{server}.{fmt}"], env)

def sane(isolate, fmt):
    return ([bin, "scan", "-q", *(["--isolate"] if isolate else []), "--device", "sane:test:0",
             "--set", "test-picture=Color pattern", "--mode", "color", "--resolution", "300",
             *area, "--format", fmt, "-o", f"{work}/s-{int(isolate)}.{fmt}"], test)

# name: (host command, in-process command, local baseline or None)
jobs = {}
for mode in ("color", "gray"):
    for fmt in ("pnm", "png"):
        local = ([bin, "scan", "-d", "virtual", "--set", "sheets=10", "--source", "adf", "--pages",
                  "10", "--mode", mode, "--resolution", "300", *area, "--quiet", "-o",
                  f"{work}/l-%02d.{fmt}"], none)
        jobs[f"escl {mode} {fmt}"] = (escl("vhost", mode, fmt), escl("vproc", mode, fmt), local)
for fmt in ("pnm", "png"):
    local = (["scanimage", "-d", "test:0", "--test-picture", "Color pattern", "--mode", "Color",
              "--resolution", "300", *area, f"--format={fmt}", "-o", f"{work}/t.{fmt}"], test)
    jobs[f"airscan color {fmt}"] = (airscan("shost", fmt), airscan("sproc", fmt), local)
for fmt in ("pnm", "png"):
    local = (["scanimage", "-d", "test:0", "--test-picture", "Color pattern", "--mode", "Color",
              "--resolution", "300", *area, f"--format={fmt}", "-o", f"{work}/t.{fmt}"], test)
    jobs[f"sane color {fmt}"] = (sane(True, fmt), sane(False, fmt), local)

jobs = {k: v for k, v in jobs.items() if os.environ["ONLY"] in k}

def run(cmd):
    argv, env = cmd
    # sane-airscan can hang in sane_close after a complete page (its close race, see
    # crates/server/tests/common/peers.rs), and the test backend's scanimage once hung on a
    # futex: a run that fails or takes over 30 s is killed and repeated.
    for _ in range(3):
        t0 = time.perf_counter()
        try:
            r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=30)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"{' '.join(argv)}: hung for 30 s, killed; repeating\n")
            continue
        t = time.perf_counter() - t0
        if r.returncode == 0:
            return t
        sys.stderr.write(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.decode()[-300:]}; repeating\n")
    sys.exit(f"{' '.join(argv)} failed 3 times")

times = {name: {"host": [], "proc": [], "local": []} for name in jobs}
for name, (host, proc, local) in jobs.items():  # warm-up
    run(host); run(proc); run(local)
for r in range(rounds):
    for name, (host, proc, local) in jobs.items():
        order = [("host", host), ("proc", proc)]
        if r % 2:
            order.reverse()
        for key, cmd in order + [("local", local)]:
            times[name][key].append(run(cmd))

def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]

print()
print("| job | host (ms) | in process (ms) | host / in process, per round: median (quartiles) "
      "| baseline (ms) | ratio to baseline: host / in process |")
print("|---|---|---|---|---|---|")
for name, t in times.items():
    pairs = [h / p for h, p in zip(t["host"], t["proc"])]
    lo, med, hi = quartiles(pairs)
    h, p, l = (statistics.median(t[k]) * 1000 for k in ("host", "proc", "local"))
    print(f"| {name} | {h:.1f} | {p:.1f} | **{med:.3f}×** ({lo:.3f}, {hi:.3f}) | {l:.1f} "
          f"| {h / l:.2f}× / {p / l:.2f}× |")
EOF
same() { # label file-a file-b
    [ -e "$2" ] || return 0
    cmp -s "$2" "$3" && echo "$1: identical both ways" || echo "$1: DIFFERENT"
}
same "escl page 1 (png)" "$WORK/e-vhost-01.png" "$WORK/e-vproc-01.png"
same "escl page 10 (pnm)" "$WORK/e-vhost-10.pnm" "$WORK/e-vproc-10.pnm"
same "airscan page (png)" "$WORK/a-shost.png" "$WORK/a-sproc.png"
same "sane page (pnm)" "$WORK/s-1.pnm" "$WORK/s-0.pnm"
