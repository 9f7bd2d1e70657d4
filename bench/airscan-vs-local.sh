#!/usr/bin/env bash
# One A4 300 dpi color page fetched by `scanimage -d airscan:...` from `scanwire serve`,
# against the same page scanned locally, in turns in one session (issue 5's benchmark).
#
# Two baselines, both measured:
#   same client (the honest one): the SANE test backend's "Color pattern" page, scanned
#       locally by `scanimage -d test:0`, and fetched by `scanimage -d airscan:...` from
#       `scanwire serve --device sane:test:0`. Same frontend, same page, same output
#       writer: the difference is exactly what the network path adds (Scanwire's SANE
#       driver, the server's PNG encoding, HTTP, sane-airscan's PNG decoding).
#   scanwire local: the virtual scanner's page written by `scanwire scan` (Scanwire's own
#       encoders), against scanimage via sane-airscan from `scanwire serve` (virtual). This
#       also charges the network path for scanimage's own output encoding (libpng at zlib
#       level 6 for PNG), which is not a network cost; kept for comparison with earlier
#       figures.
# Each for two output formats: PNM (no output encoding) and PNG. Then the server's own time
# per job (curl), a comparison of the server's --deflate efforts on the same-client path, and
# the server's RSS over 200 consecutive jobs.
#
# Usage: bench/airscan-vs-local.sh [RUNS] [JOBS]     (defaults 9 and 200)
# Needs: scanimage + sane-airscan + the SANE test backend, curl, bc. Builds the release binary
# into $CARGO_TARGET_DIR (default target/). Network: 127.0.0.1 only, discovery off.
set -euo pipefail

RUNS=${1:-9}
JOBS=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release

cd "$ROOT"
cargo build --release -q -p scanwire
SCANWIRE=$BIN/scanwire

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

source bench/lib.sh
sane_test_config "$WORK/test"
PICTURE="Color pattern"

# serve NAME ARGS...: starts `scanwire serve` on a free port; a sane-airscan configuration
# for it in $WORK/air-NAME (device airscan:e0:Scanwire).
serve() {
    local name=$1 port
    shift
    port=$(free_port)
    SANE_CONFIG_DIR=$WORK/test "$SCANWIRE" serve --listen "127.0.0.1:$port" "$@" \
        >"$WORK/server-$name.log" 2>&1 &
    PIDS+=($!)
    eval "PORT_$name=$port; PID_$name=$!"
    airscan_config "$WORK/air-$name" "$port"
    wait_for_serve "$port" "$WORK/server-$name.log"
}

serve virtual --device virtual
serve test --device sane:test:0 --set "test-picture=$PICTURE"
serve fast --device sane:test:0 --set "test-picture=$PICTURE" --deflate fast
serve fastest --device sane:test:0 --set "test-picture=$PICTURE" --deflate fastest
serve balanced --device sane:test:0 --set "test-picture=$PICTURE" --deflate balanced

AREA=(--mode Color --resolution 300 -l 0 -t 0 -x 210 -y 297)
# scanimage gets 30 s, then SIGKILL (on SIGTERM it cancels the scanner and can hang again):
# the test backend's scanimage once hung on a futex, and sane-airscan can hang in
# sane_close after a complete flatbed page (its close race, see
# crates/server/tests/common/peers.rs). `timed` repeats such a run.
net() { # server-name format
    SANE_CONFIG_DIR=$WORK/air-$1 timeout -s KILL 30 scanimage -d 'airscan:e0:Scanwire' --source Flatbed "${AREA[@]}" \
        --format="$2" -o "$WORK/net-$1.$2"
}
local_sane() { # format
    SANE_CONFIG_DIR=$WORK/test timeout -s KILL 30 scanimage -d test:0 --test-picture "$PICTURE" --depth 8 "${AREA[@]}" \
        --format="$1" -o "$WORK/local-sane.$1" 2>/dev/null
}
local_scanwire() { # format
    "$SCANWIRE" scan -d virtual --mode color --resolution 300 -l 0 -t 0 -x 210 -y 297 \
        -o "$WORK/local-scanwire.$1" >/dev/null 2>&1
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
timed() { # file command...: records the command's time; a failed or hung run is repeated
    local f=$1 t0 t1 attempt
    shift
    for attempt in 1 2 3; do
        t0=$(now)
        if "$@"; then
            t1=$(now)
            echo "$t1 - $t0" | bc >>"$f"
            return
        fi
        echo "$* failed or hung (attempt $attempt); repeating" >&2
    done
    echo "$* failed 3 times" >&2
    exit 1
}
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

# Warm caches (binaries, libraries, the page cache) once each.
for f in pnm png; do
    for run in "net virtual" "net test" "net fast" "net fastest" "net balanced" local_sane local_scanwire; do
        $run $f || echo "warm-up $run $f failed or hung" >&2
    done
done

echo "A4 300 dpi color, $RUNS runs each, in turns (seconds, wall clock of the whole command, median)"
echo
echo "| output | baseline | network path | local | ratio |"
echo "|---|---|---|---|---|"
for fmt in pnm png; do
    for k in net-test loc-sane net-virtual loc-scanwire net-fast net-fastest net-balanced; do : >"$WORK/t-$k-$fmt"; done
    for _ in $(seq "$RUNS"); do
        timed "$WORK/t-net-test-$fmt" net test "$fmt"
        timed "$WORK/t-loc-sane-$fmt" local_sane "$fmt"
        timed "$WORK/t-net-virtual-$fmt" net virtual "$fmt"
        timed "$WORK/t-loc-scanwire-$fmt" local_scanwire "$fmt"
        timed "$WORK/t-net-fast-$fmt" net fast "$fmt"
        timed "$WORK/t-net-fastest-$fmt" net fastest "$fmt"
        timed "$WORK/t-net-balanced-$fmt" net balanced "$fmt"
    done
    for k in net-test loc-sane net-virtual loc-scanwire net-fast net-fastest net-balanced; do
        eval "M_${k//-/_}_$fmt=$(median <"$WORK/t-$k-$fmt")"
    done
    eval "a=\$M_net_test_$fmt b=\$M_loc_sane_$fmt c=\$M_net_virtual_$fmt d=\$M_loc_scanwire_$fmt"
    echo "| ${fmt^^} | same client: \`scanimage -d test:0\` vs \`scanimage -d airscan:\` ← \`scanwire serve -d sane:test:0\` | $a s | $b s | $(ratio "$a" "$b")× |"
    echo "| ${fmt^^} | scanwire local: \`scanwire scan -d virtual\` vs \`scanimage -d airscan:\` ← \`scanwire serve -d virtual\` | $c s | $d s | $(ratio "$c" "$d")× |"
done
echo
echo "Server --deflate effort, same-client path (network path median; local as above):"
echo
echo "| output | wire (default: zlib 1, Up or Sub filters) | fast (zlib 2) | fastest (fdeflate) | balanced (zlib 6) | local |"
echo "|---|---|---|---|---|---|"
for fmt in pnm png; do
    eval "echo \"| ${fmt^^} | \$M_net_test_$fmt s | \$M_net_fast_$fmt s | \$M_net_fastest_$fmt s | \$M_net_balanced_$fmt s | \$M_loc_sane_$fmt s |\""
done
echo
echo "Raw runs (seconds):"
for fmt in pnm png; do
    for k in net-test loc-sane net-virtual loc-scanwire net-fast net-fastest net-balanced; do
        printf '  %-16s %s\n' "$k $fmt" "$(tr '\n' ' ' <"$WORK/t-$k-$fmt")"
    done
done
echo
echo "Files:"
ls -l "$WORK"/net-*.* "$WORK"/local-*.* | awk '{print "  " $5, $9}' | sed "s|$WORK/||"

# The server's share of the network path: the same job fetched with curl (POST, the page's
# PNG, the final 404, DELETE), no decoding or writing on the client side.
settings() {
    echo '<?xml version="1.0" encoding="UTF-8"?><scan:ScanSettings xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm" xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"><pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset><pwg:Width>2480</pwg:Width><pwg:Height>3508</pwg:Height></pwg:ScanRegion></pwg:ScanRegions><pwg:InputSource>Platen</pwg:InputSource><scan:ColorMode>RGB24</scan:ColorMode><pwg:DocumentFormat>image/png</pwg:DocumentFormat><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:ScanSettings>'
}
job() { # port
    local l code
    l=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: text/xml' --data "$(settings)" \
        "http://127.0.0.1:$1/eSCL/ScanJobs" | tr -d '\r' | awk -F': ' 'tolower($1)=="location" {print $2}')
    curl -sf -o "$WORK/job.png" "http://127.0.0.1:$1$l/NextDocument"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$l/NextDocument")
    [ "$code" = 404 ] || { echo "second NextDocument gave $code"; exit 1; }
    curl -s -o /dev/null -X DELETE "http://127.0.0.1:$1$l"
}
echo
for name in test virtual; do
    eval "port=\$PORT_$name"
    : >"$WORK/t-job-$name"
    for _ in $(seq "$RUNS"); do timed "$WORK/t-job-$name" job "$port"; done
    printf 'server only, %s (curl: POST, NextDocument PNG %s bytes, 404, DELETE): median %s s\n' \
        "$name" "$(stat -c %s "$WORK/job.png")" "$(median <"$WORK/t-job-$name")"
done

# Server memory over consecutive jobs (each an A4 300 dpi color PNG fetched with curl, the
# way sane-airscan does it: POST, NextDocument, NextDocument -> 404, DELETE).
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID_virtual/status"; }
echo "server RSS over $JOBS jobs (KiB): start $(rss)"
line=""
for i in $(seq "$JOBS"); do
    job "$PORT_virtual"
    if [ $((i % 20)) = 0 ]; then line="$line $i:$(rss)"; fi
done
echo "  after jobs:$line"
