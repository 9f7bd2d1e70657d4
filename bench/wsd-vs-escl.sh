#!/usr/bin/env bash
# The WS-Scan service of `scanwire serve --wsd` (issue 16, part 3), in one session:
#   1. one A4 300 dpi color page fetched by `scanimage -d airscan:...` through sane-airscan's
#      WSD client from `scanwire serve --wsd`, against the same client's eSCL path from the
#      same server (hyperfine, in turns): the difference is what WS-Scan costs over eSCL
#      (sane-airscan asks a WSD device for JPEG, jfif; on eSCL it picks its own format);
#   2. the same page scanned by Scanwire's own WSD driver from the service against a local
#      scan of the same device (the virtual scanner), both by crates/server/examples/wsd_scan.rs:
#      the same core transfer into memory, so the difference is the WS-Scan path (the
#      server's PNG encoding, HTTP, the driver's decoding);
#   3. the server's RSS over JOBS consecutive WS-Scan jobs (curl: CreateScanJob,
#      RetrieveImage, RetrieveImage -> ClientErrorNoImagesAvailable).
#
# Usage: bench/wsd-vs-escl.sh [RUNS] [JOBS]     (defaults 5 and 200)
# Needs: hyperfine, scanimage + sane-airscan, curl, python3. Builds the release binary into
# $CARGO_TARGET_DIR (default target/). Network: 127.0.0.1 only, discovery off.
set -euo pipefail

RUNS=${1:-5}
JOBS=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
source bench/lib.sh
need "hyperfine" hyperfine
need "sane-utils sane-airscan" scanimage
need "curl" curl
scanwire_bin
SCANWIRE=$bin
# The driver side of part 2: the same core transfer into memory through the WSD driver or the
# virtual driver (no file output, so only the WS-Scan path differs).
cargo build --release -q -p scanwire-server --example wsd_scan
EXAMPLE=$CARGO_TARGET_DIR/release/examples/wsd_scan

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/none" && : >"$WORK/none/dll.conf"   # no SANE backend probing by scanwire
SANE_CONFIG_DIR=$WORK/none "$SCANWIRE" serve --listen "127.0.0.1:$PORT" --device virtual --wsd \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/eSCL/ScannerCapabilities" >/dev/null && break
    sleep 0.1
done
WSD=http://127.0.0.1:$PORT/WSDScanner

# airscan PROTOCOL URL: a private sane-airscan configuration with one device, Scanwire.
airscan() {
    local dir=$WORK/air-$1
    mkdir -p "$dir/dll.d"
    echo airscan >"$dir/dll.conf"
    printf '[devices]\n"Scanwire" = %s, %s\n[options]\ndiscovery = disable\nws-discovery = off\n' \
        "$2" "$1" >"$dir/airscan.conf"
}
airscan eSCL "http://127.0.0.1:$PORT/eSCL"
airscan WSD "$WSD"

AREA="--mode Color --resolution 300 -l 0 -t 0 -x 210 -y 297"
# 30 s, then SIGKILL: sane-airscan can hang in sane_close after a complete page (its close
# race, see crates/server/tests/common/peers.rs); a hung run fails the benchmark.
scan() { # protocol device
    echo "SANE_CONFIG_DIR=$WORK/air-$1 timeout -s KILL 30 scanimage -d $2 --source Flatbed $AREA --format=pnm -o $WORK/$1.pnm"
}

echo "1. sane-airscan (scanimage, PNM out), A4 300 dpi color, WSD vs eSCL from one server:"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-markdown "$WORK/airscan.md" \
    -n "airscan WSD" "$(scan WSD airscan:w0:Scanwire)" \
    -n "airscan eSCL" "$(scan eSCL airscan:e0:Scanwire)" >"$WORK/airscan.txt"
cat "$WORK/airscan.md"
echo

echo "2. Scanwire's WSD driver vs a local scan of the same device (rows into memory):"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-markdown "$WORK/driver.md" \
    -n "wsd driver" "$EXAMPLE wsd $WSD" \
    -n "local" "$EXAMPLE local" \
    >"$WORK/driver.txt"
cat "$WORK/driver.md"
echo

# One WS-Scan job by hand, as sane-airscan runs it: CreateScanJob, RetrieveImage (the JPEG),
# RetrieveImage again (the NoImagesAvailable fault).
envelope() { # action body
    printf '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:scan="http://schemas.microsoft.com/windows/2006/08/wdp/scan"><s:Header><a:MessageID>urn:uuid:%s</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:Action>http://schemas.microsoft.com/windows/2006/08/wdp/scan/%s</a:Action></s:Header><s:Body>%s</s:Body></s:Envelope>' \
        "$(cat /proc/sys/kernel/random/uuid)" "$1" "$2"
}
TICKET='<scan:CreateScanJobRequest><scan:ScanTicket><scan:JobDescription><scan:JobName>bench</scan:JobName></scan:JobDescription><scan:DocumentParameters><scan:Format>jfif</scan:Format><scan:ImagesToTransfer>1</scan:ImagesToTransfer><scan:InputSource>Platen</scan:InputSource><scan:MediaSides><scan:MediaFront><scan:ColorProcessing>RGB24</scan:ColorProcessing><scan:Resolution><scan:Width>300</scan:Width><scan:Height>300</scan:Height></scan:Resolution><scan:ScanRegion><scan:ScanRegionXOffset>0</scan:ScanRegionXOffset><scan:ScanRegionYOffset>0</scan:ScanRegionYOffset><scan:ScanRegionWidth>8268</scan:ScanRegionWidth><scan:ScanRegionHeight>11693</scan:ScanRegionHeight></scan:ScanRegion></scan:MediaFront></scan:MediaSides></scan:DocumentParameters></scan:ScanTicket></scan:CreateScanJobRequest>'
post() { curl -s -H 'Content-Type: application/soap+xml; charset=utf-8' --data-binary @- "$WSD"; }
job() {
    local created id token retrieve
    created=$(envelope CreateScanJob "$TICKET" | post)
    id=$(sed -n 's|.*<scan:JobId>\([0-9]*\)</scan:JobId>.*|\1|p' <<<"$created")
    token=$(sed -n 's|.*<scan:JobToken>\([^<]*\)</scan:JobToken>.*|\1|p' <<<"$created")
    [ -n "$id" ] || { echo "CreateScanJob failed: $created" >&2; exit 1; }
    retrieve="<scan:RetrieveImageRequest><scan:JobId>$id</scan:JobId><scan:JobToken>$token</scan:JobToken><scan:DocumentDescription><scan:DocumentName>IMAGE000.JPG</scan:DocumentName></scan:DocumentDescription></scan:RetrieveImageRequest>"
    envelope RetrieveImage "$retrieve" | post >"$WORK/job.mtom"
    envelope RetrieveImage "$retrieve" | post | grep -q ClientErrorNoImagesAvailable ||
        { echo "the second RetrieveImage did not end the job" >&2; exit 1; }
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
echo "3. server RSS over $JOBS WS-Scan jobs (A4 300 dpi color JPEG each, KiB): start $(rss)"
line=""
for i in $(seq "$JOBS"); do
    job
    if [ $((i % 40)) = 0 ]; then line="$line $i:$(rss)"; fi
done
echo "  after jobs:$line (last answer $(stat -c %s "$WORK/job.mtom") bytes)"
