#!/usr/bin/env bash
# `serve --queue` (issue 19) as an eSCL client sees it: one feeder job asked for as a PDF
# (as NAPS2, macOS or Mopria ask for a batch) from `scanwire serve --ocr eng`, its pages
# A4-wide 300 dpi gray text from the virtual scanner, timed from the POST to the last byte of
# the document (NextDocument retried on 503 every second, as sane-airscan and NAPS2 do):
#
#  1. the server doing the OCR itself (its stages, one engine per core);
#  2. the same server with `--queue`, 1 and 2 `scanwire worker --threads 1` processes on the
#     same machine (every PDF compared byte for byte with the server's own);
#  3. how long the scanner was busy in each case (the job's pages scanned, from POST to the
#     device Idle again), which is what the queue gives back to the scanning desk.
#
# The queue is a 3-node `nats-server` cluster with JetStream on loopback (NODES=1: one
# server). One run each: on a loaded machine, repeat it.
#
# Usage: bench/serve-queue.sh [PAGES]   (default 8, at most 50)
# Needs: nats-server, tesseract-ocr + tesseract-ocr-eng, curl, python3. SCANWIRE_BIN
# measures another build (default: this checkout's release build, built now). Network:
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
need "nats-server tesseract-ocr tesseract-ocr-eng curl python3" nats-server tesseract curl python3
pages=${1:-8}
[ "$pages" -le 50 ] || { echo "PAGES: at most 50" >&2; exit 2; }
nodes=${NODES:-3}
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/serve-queue-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000

# The cluster.
nats_cluster "$nodes" "$work"

# serve NAME ARGS...: starts `scanwire serve` on a free port; sets $addr.
serve() {
    local name=$1
    shift
    local port
    port=$(free_port)
    "$bin" serve --listen "127.0.0.1:$port" --no-isolate --state-dir "$work/state-$name" \
        --set sheets="$pages" --set content=text --ocr eng "$@" 2>"$work/serve-$name.err" &
    pids+=($!)
    eval "spid_$name=$!"
    addr=127.0.0.1:$port
    for _ in $(seq 1 600); do
        grep -q '^serving' "$work/serve-$name.err" 2>/dev/null && return
        sleep 0.1
    done
    echo "serve $name did not start: $(cat "$work/serve-$name.err")" >&2
    exit 1
}
stop() {
    local pid
    pid=$(eval echo "\$$1")
    kill -INT "$pid"
    wait "$pid" 2>/dev/null || true
}
worker() {
    local name=$1
    shift
    "$bin" worker --queue "$url" --json --threads 1 --interval 5 >"$work/$name.jsonl" 2>"$work/$name.err" &
    pids+=($!)
    eval "wpid_$name=$!"
    for _ in $(seq 1 600); do
        [ -s "$work/$name.jsonl" ] && return
        sleep 0.1
    done
    echo "worker $name did not start: $(cat "$work/$name.err")" >&2
    exit 1
}

settings='<?xml version="1.0" encoding="UTF-8"?><scan:ScanSettings xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm" xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"><pwg:Version>2.0</pwg:Version><pwg:InputSource>Feeder</pwg:InputSource><scan:ColorMode>Grayscale8</scan:ColorMode><pwg:DocumentFormat>application/pdf</pwg:DocumentFormat><scan:DocumentFormatExt>application/pdf</scan:DocumentFormatExt><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution><scan:Duplex>false</scan:Duplex></scan:ScanSettings>'

# job OUT: one PDF job against $addr, written to OUT; prints "total scanner_busy" seconds.
# The scanner is busy until ScannerStatus says Idle again (polled every 0.2 s beside the
# client).
job() {
    local out=$1 t0 t1 loc code idle poller
    t0=$(now)
    rm -f "$work/idle"
    (
        sleep 0.5
        until curl -sS "http://$addr/eSCL/ScannerStatus" | grep -q '<pwg:State>Idle<'; do sleep 0.2; done
        now >"$work/idle"
    ) &
    poller=$!
    loc=$(curl -sS -D - -o /dev/null -H 'Content-Type: text/xml' --data "$settings" \
        "http://$addr/eSCL/ScanJobs" | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
    loc=${loc#http://$addr}
    while :; do
        code=$(curl -sS -o "$out" -w '%{http_code}' "http://$addr$loc/NextDocument")
        [ "$code" = 200 ] && break
        [ "$code" = 503 ] || { echo "NextDocument: HTTP $code" >&2; exit 1; }
        sleep 1
    done
    t1=$(now)
    wait "$poller" || true
    idle=$(cat "$work/idle")
    curl -sS -o /dev/null "http://$addr$loc/NextDocument" || true
    echo "$(secs "$t0" "$t1") $(secs "$t0" "$idle")"
}

echo "== $pages pages, A4-wide 300 dpi gray text, one eSCL PDF job, serve --ocr eng; $nodes-node cluster"
serve local
read -r total busy < <(job "$work/local.pdf")
echo "server's own OCR:              ${total} s  $(per_min "$pages" "$total") pages/min  (scanner busy ${busy} s)"
stop spid_local

serve queue --queue "$url"
for n in 1 2; do
    for w in $(seq 1 "$n"); do worker "w${n}_$w"; done
    read -r total busy < <(job "$work/q$n.pdf")
    same=$(cmp -s "$work/local.pdf" "$work/q$n.pdf" && echo "same bytes" || echo "DIFFERENT bytes")
    echo "queue, $n worker process(es):  ${total} s  $(per_min "$pages" "$total") pages/min  (scanner busy ${busy} s; $same)"
    for w in $(seq 1 "$n"); do stop "wpid_w${n}_$w"; done
done
stop spid_queue
