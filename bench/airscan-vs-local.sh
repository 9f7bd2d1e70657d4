#!/usr/bin/env bash
# One A4 300 dpi color page from the virtual scanner, two ways, in turns in one session:
#   network: scanimage -d airscan:... fetching it from the eSCL server (the page is scanned,
#            encoded as PNG by the server, decoded by sane-airscan, written by scanimage)
#   local:   the scanwire CLI scanning the same page straight to a file
# for two output formats (PNM: no output encoding; PNG: each side encodes its own PNG),
# then the server's RSS over 200 consecutive jobs.
#
# Usage: crates/server/bench/airscan-vs-local.sh [RUNS] [JOBS]     (defaults 9 and 200)
# Needs: scanimage + sane-airscan, curl, python3. Builds release binaries into
# $CARGO_TARGET_DIR (default target/). Network: 127.0.0.1 only, discovery off.
set -euo pipefail

RUNS=${1:-9}
JOBS=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release

cd "$ROOT"
cargo build --release -q -p scanwire
cargo build --release -q -p scanwire-server --example serve_virtual
SCANWIRE=$BIN/scanwire
# `scanwire serve` once the CLI has it; until then the server crate's example does the same.
if "$SCANWIRE" serve --help >/dev/null 2>&1; then
    SERVE=("$SCANWIRE" serve)
else
    SERVE=("$BIN/examples/serve_virtual")
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${SERVE[@]}" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/eSCL/ScannerCapabilities" >/dev/null && break
    sleep 0.1
done

mkdir -p "$WORK/sane/dll.d"
echo airscan >"$WORK/sane/dll.conf"
cat >"$WORK/sane/airscan.conf" <<EOF
[devices]
"Scanwire" = http://127.0.0.1:$PORT/eSCL, eSCL
[options]
discovery = disable
ws-discovery = off
EOF

now() { date +%s.%N; }
net() { # $1 = pnm|png
    SANE_CONFIG_DIR=$WORK/sane scanimage -d 'airscan:e0:Scanwire' --source Flatbed --mode Color \
        --resolution 300 -l 0 -t 0 -x 210 -y 297 --format="$1" -o "$WORK/net.$1"
}
loc() {
    "$SCANWIRE" scan -d virtual --mode color --resolution 300 -l 0 -t 0 -x 210 -y 297 \
        -o "$WORK/local.$1" >/dev/null 2>&1
}
SETTINGS='<?xml version="1.0" encoding="UTF-8"?><scan:ScanSettings xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm" xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"><pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset><pwg:Width>2480</pwg:Width><pwg:Height>3508</pwg:Height></pwg:ScanRegion></pwg:ScanRegions><pwg:InputSource>Platen</pwg:InputSource><scan:ColorMode>RGB24</scan:ColorMode><pwg:DocumentFormat>image/png</pwg:DocumentFormat><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:ScanSettings>'
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }

# Warm caches (binaries, the page cache) once each.
net pnm; loc pnm
echo "A4 300 dpi color, $RUNS runs each, in turns (seconds, wall clock of the whole command)"
for fmt in pnm png; do
    : >"$WORK/t-net"; : >"$WORK/t-loc"
    for _ in $(seq "$RUNS"); do
        t0=$(now); net "$fmt"; t1=$(now); loc "$fmt"; t2=$(now)
        echo "$t1 - $t0" | bc >>"$WORK/t-net"
        echo "$t2 - $t1" | bc >>"$WORK/t-loc"
    done
    n=$(median <"$WORK/t-net"); l=$(median <"$WORK/t-loc")
    printf '  %s: network (scanimage via airscan) median %s s, local (scanwire scan) median %s s, ratio %.2f\n' \
        "$fmt" "$n" "$l" "$(echo "$n / $l" | bc -l)"
    printf '       network runs: %s\n' "$(tr '\n' ' ' <"$WORK/t-net")"
    printf '       local runs:   %s\n' "$(tr '\n' ' ' <"$WORK/t-loc")"
done
ls -l "$WORK"/net.* "$WORK"/local.* | awk '{print "  " $5, $9}' | sed "s|$WORK/||"

# The server's share of the network path: the same job fetched with curl (POST, the
# page's PNG, the final 404), no decoding or writing on the client side.
job() {
    local l
    l=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: text/xml' --data "$SETTINGS" \
        "http://127.0.0.1:$PORT/eSCL/ScanJobs" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')
    curl -sf -o "$WORK/job.png" "http://127.0.0.1:$PORT$l/NextDocument"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$l/NextDocument")
    [ "$code" = 404 ] || { echo "second NextDocument gave $code"; exit 1; }
    curl -s -o /dev/null -X DELETE "http://127.0.0.1:$PORT$l"
}
: >"$WORK/t-job"
for _ in $(seq "$RUNS"); do t0=$(now); job; t1=$(now); echo "$t1 - $t0" | bc >>"$WORK/t-job"; done
printf '  server only (curl: POST, NextDocument PNG %s bytes, 404, DELETE): median %s s\n' \
    "$(stat -c %s "$WORK/job.png")" "$(median <"$WORK/t-job")"

# Server memory over consecutive jobs (each an A4 300 dpi color PNG fetched with curl, the
# way sane-airscan does it: POST, NextDocument, NextDocument -> 404, DELETE).
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
echo "server RSS over $JOBS jobs (KiB): start $(rss)"
line=""
for i in $(seq "$JOBS"); do
    job
    if [ $((i % 20)) = 0 ]; then line="$line $i:$(rss)"; fi
done
echo "  after jobs:$line"
