#!/usr/bin/env bash
# What running drivers in their own processes costs `scanwire serve` (issue 17): two servers
# in front of the virtual scanner, one with a driver host (serve's default), one with
# `--no-isolate`, measured in turns in one session:
#   1. one A4 300 dpi color page fetched with curl (POST, NextDocument PNG, 404, DELETE);
#   2. a 10-page A4 300 dpi gray feeder job fetched by `scanwire scan -d http://…` to PNM;
#   3. the server's RSS counted WITH its driver host processes over JOBS consecutive jobs of
#      (1), sampled every 50 jobs (flat means no leak across the process boundary).
# Wall times are hyperfine means (± σ).
#
# Usage: bench/isolation-cost.sh [RUNS] [JOBS]    (default 10 and 200)
# Needs: hyperfine, curl, python3. Builds the release binary (or SCANWIRE_BIN). Network:
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
JOBS=${2:-200}
source bench/lib.sh
need "hyperfine curl python3" hyperfine curl python3
scanwire_bin

WORK=$(mktemp -d)
PIDS=()
trap bench_cleanup EXIT
export SANE_CONFIG_DIR=$WORK/sane # no SANE backend probing
mkdir -p "$SANE_CONFIG_DIR" && : >"$SANE_CONFIG_DIR/dll.conf"

start() { # name args...: sets PORT_<name> and PID_<name>
    local name=$1 port
    shift
    port=$(free_port)
    "$bin" serve --listen "127.0.0.1:$port" --set sheets=10 "$@" >"$WORK/server-$name.log" 2>&1 &
    PIDS+=($!)
    eval "PORT_$name=$port PID_$name=$!"
    wait_for_serve "$port" "$WORK/server-$name.log"
}
start host
start inproc --no-isolate

settings() {
    echo '<?xml version="1.0" encoding="UTF-8"?><scan:ScanSettings xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm" xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"><pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset><pwg:Width>2480</pwg:Width><pwg:Height>3508</pwg:Height></pwg:ScanRegion></pwg:ScanRegions><pwg:InputSource>Platen</pwg:InputSource><scan:ColorMode>RGB24</scan:ColorMode><pwg:DocumentFormat>image/png</pwg:DocumentFormat><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:ScanSettings>'
}
settings >"$WORK/settings.xml"
# One job, as sane-airscan runs it: POST, NextDocument, NextDocument -> 404, DELETE.
cat >"$WORK/job.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
port=$1 out=$2 xml=$3
l=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: text/xml' --data-binary @"$xml" \
    "http://127.0.0.1:$port/eSCL/ScanJobs" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')
curl -sf -o "$out" "http://127.0.0.1:$port$l/NextDocument"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$l/NextDocument")
[ "$code" = 404 ] || { echo "second NextDocument gave $code" >&2; exit 1; }
curl -s -o /dev/null -X DELETE "http://127.0.0.1:$port$l"
EOF
chmod +x "$WORK/job.sh"

echo "== scanwire $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. one A4 300 dpi color page (curl: POST, NextDocument PNG, 404, DELETE)"
hyperfine --style basic --warmup 2 --runs "$RUNS" --export-markdown "$WORK/page.md" \
    -n "host" "$WORK/job.sh $PORT_host $WORK/host.png $WORK/settings.xml" \
    -n "in process" "$WORK/job.sh $PORT_inproc $WORK/inproc.png $WORK/settings.xml" >/dev/null
cat "$WORK/page.md"
cmp -s "$WORK/host.png" "$WORK/inproc.png" && echo "pages: identical" || echo "pages: DIFFERENT"

echo
echo "== 2. 10-page A4 300 dpi gray feeder job, scanwire scan -d http://… to PNM"
common="--source adf --pages 10 --mode gray --resolution 300 -l 0 -t 0 -x 210 -y 297 --quiet"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-markdown "$WORK/feeder.md" \
    -n "host" "$bin scan -d http://127.0.0.1:$PORT_host/eSCL $common -o $WORK/h-%02d.pnm" \
    -n "in process" "$bin scan -d http://127.0.0.1:$PORT_inproc/eSCL $common -o $WORK/i-%02d.pnm" >/dev/null
cat "$WORK/feeder.md"

# The server's RSS plus that of every process it started (its driver hosts), in KiB.
rss_tree() {
    local pid=$1 p sum=0
    for p in $pid $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        sum=$((sum + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$sum"
}
echo
echo "== 3. RSS (KiB) over $JOBS jobs of (1): server + its driver hosts"
for name in host inproc; do
    eval "port=\$PORT_$name pid=\$PID_$name"
    line="start:$(rss_tree "$pid")"
    for i in $(seq "$JOBS"); do
        "$WORK/job.sh" "$port" "$WORK/rss.png" "$WORK/settings.xml"
        if [ $((i % 50)) = 0 ]; then line="$line $i:$(rss_tree "$pid")"; fi
    done
    printf '  %-10s %s  (processes: %s)\n' "$name" "$line" \
        "$(echo "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null) | wc -w)"
done
