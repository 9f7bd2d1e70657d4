#!/usr/bin/env bash
# A 10-page feeder job two ways, in turns in one session (hyperfine):
#   escl:  scanwire scan -d http://127.0.0.1:PORT/eSCL  (the eSCL client driver) fetching it
#          from `scanwire serve` in front of the virtual scanner
#   local: scanwire scan -d virtual, the same job scanned by the virtual driver in-process
# Both write the same files (one per page). Settings: A4, 300 dpi, color and gray; output PNM
# and PNG. For PNM the server sends PNG compressed for the link and the driver decodes it to
# rows as it streams in (the driver's own cost shows); for PNG the driver asks for pages
# compressed for storage (CompressionFactor 1) and writes them as they come, so the server
# does the encoding a local scan does. Wall times are hyperfine means; CPU (user+sys) is the
# median of 3 more runs of each, client and server.
#
# The server runs its driver in a driver host (serve's default) unless ISOLATE=off
# (`serve --no-isolate`); the local scan is in process either way. The first line says which.
#
# Usage: [ISOLATE=on|off] bench/escl-client-vs-local.sh [RUNS]      (default 5, ISOLATE=on)
# Needs: hyperfine, curl, python3. Builds release binaries into $CARGO_TARGET_DIR (default
# target/). Network: 127.0.0.1 only.
set -euo pipefail

RUNS=${1:-5}
ISOLATE=${ISOLATE:-on}
case $ISOLATE in
on) SERVE_ISOLATION=() ;;
off) SERVE_ISOLATION=(--no-isolate) ;;
*) echo "ISOLATE=$ISOLATE: expected on or off" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release -q -p scanwire
SCANWIRE=$CARGO_TARGET_DIR/release/scanwire

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Ten sheets in the virtual feeder, for every job the server runs.
"$SCANWIRE" serve --listen "127.0.0.1:$PORT" --set sheets=10 ${SERVE_ISOLATION[@]+"${SERVE_ISOLATION[@]}"} >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/eSCL/ScannerCapabilities" >/dev/null && break
    sleep 0.1
done
URL="http://127.0.0.1:$PORT/eSCL"
export SANE_CONFIG_DIR=$WORK/sane   # no SANE backend probing in either command
mkdir -p "$SANE_CONFIG_DIR" && : >"$SANE_CONFIG_DIR/dll.conf"

TICK=$(getconf CLK_TCK)
# The server's CPU: its own and, isolated, its driver host's (a child that lives as long as
# the server, so its time is not in the server's cutime yet).
server_cpu() {
    local pids p sum=0
    pids="$SERVER_PID $(cat /proc/"$SERVER_PID"/task/*/children 2>/dev/null)"
    for p in $pids; do
        sum=$((sum + $(awk -v t="$TICK" '{printf "%d", ($14 + $15) * 1000 / t}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$sum"
}
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

echo "serve isolation: $ISOLATE (driver in a host process: $([ "$ISOLATE" = on ] && echo yes || echo no))"
echo "| job | escl (ms) | local (ms) | ratio | CPU escl: client+server | CPU local | output |"
echo "|---|---|---|---|---|---|---|"
for mode in color gray; do
    for fmt in pnm png; do
        common="--source adf --pages 10 --mode $mode --resolution 300 -l 0 -t 0 -x 210 -y 297 --quiet"
        hyperfine --style basic --warmup 1 --runs "$RUNS" \
            --export-markdown "$WORK/$mode-$fmt.md" \
            -n "escl ($mode, $fmt)" "$SCANWIRE scan -d $URL $common -o $WORK/e-%02d.$fmt" \
            -n "local ($mode, $fmt)" "$SCANWIRE scan -d virtual --set sheets=10 $common -o $WORK/l-%02d.$fmt" \
            >"$WORK/$mode-$fmt.txt"
        cmp -s "$WORK/e-01.$fmt" "$WORK/l-01.$fmt" && same=identical || same=different
        # CPU (user+sys, ms): the client command, and the server's share of the escl job
        # (/proc/PID/stat, 10 ms ticks); median of 3. Survives a busy machine better than wall.
        cpu_e=() cpu_s=() cpu_l=()
        for _ in 1 2 3; do
            s0=$(server_cpu)
            /usr/bin/time -f '%U %S' -o "$WORK/time" $SCANWIRE scan -d $URL $common -o "$WORK/e-%02d.$fmt"
            cpu_s+=($(($(server_cpu) - s0)))
            cpu_e+=($(awk '{printf "%d", ($1 + $2) * 1000}' "$WORK/time"))
            /usr/bin/time -f '%U %S' -o "$WORK/time" $SCANWIRE scan -d virtual --set sheets=10 $common -o "$WORK/l-%02d.$fmt"
            cpu_l+=($(awk '{printf "%d", ($1 + $2) * 1000}' "$WORK/time"))
        done
        CPU="$(median3 "${cpu_e[@]}")+$(median3 "${cpu_s[@]}") ms | $(median3 "${cpu_l[@]}") ms"
        python3 - "$WORK/$mode-$fmt.md" "$mode" "$fmt" "$same" "$CPU" <<'EOF'
import sys, re
path, mode, fmt, same, cpu = sys.argv[1:]
rows = [l for l in open(path) if l.startswith("| `")]
mean = {}
for r in rows:
    cells = [c.strip() for c in r.strip().strip("|").split("|")]
    name = "escl" if cells[0].startswith("`escl") else "local"
    mean[name] = cells[1]
def num(s): return float(re.match(r"[\d.]+", s).group(0))
ratio = num(mean["escl"]) / num(mean["local"])
print(f"| 10 pages A4 300 dpi {mode}, {fmt} | {mean['escl']} | {mean['local']} | {ratio:.2f}x | {cpu} | page 1 {same} |")
EOF
    done
done
