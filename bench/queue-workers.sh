#!/usr/bin/env bash
# Issue 19's targets for the queue (`scan --queue`, `scanwire worker`) on this machine:
#
#  1. pages/min of searchable PDF (OCR, eng) through the queue with 1 and 2 worker
#     processes (`--threads 1` each, so 2 processes are 2 engines on 2 cores), against the
#     same scan processed locally (`scan --ocr`, one engine per core); every PDF compared
#     byte for byte with the local one;
#  2. the queue's per-page overhead against a page's OCR time: the pages queued first, then
#     one worker (`--threads 1`) takes them; its wall time until the last page is stored
#     minus its time in the stages (its --json `busy_seconds`), per page, over the stages'
#     time per page;
#  3. a worker's RSS over RSS_PAGES pages with cheap stages (--deskew), in jobs of 50 (the
#     worker also assembles each job's PDF; 50 is the virtual feeder's most), from its --json
#     lines (`rss_bytes`): the first report after 10 pages, the largest, and the last.
#
# Pages: the virtual scanner's feeder with printed text (`--set content=text`), A4-wide
# 300 dpi gray for OCR (1, 2), 150 dpi gray for the RSS run (3); they travel to the workers
# as PNG (the producer's choice for 8-bit pages), their results come back as the PDF will
# hold them (the page's JPEG stream and text layer). The queue is a 3-node
# `nats-server` cluster with JetStream on loopback (NODES=1: one server, no replication).
# Timings are wall time of the whole `scan` command (scan, publish, processing, assembly,
# fetch), one run each: on a loaded machine, repeat it.
#
# Usage: bench/queue-workers.sh [PAGES] [RSS_PAGES]   (defaults 8 and 500)
# Needs: nats-server, tesseract-ocr + tesseract-ocr-eng, python3. SCANWIRE_BIN measures
# another build (default: this checkout's release build, built now). Network: 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
need "nats-server tesseract-ocr tesseract-ocr-eng python3" nats-server tesseract python3
pages=${1:-8}
rss_pages=${2:-500}
# The virtual feeder holds 50 sheets at most (`--set sheets`).
[ "$pages" -le 50 ] || { echo "PAGES: at most 50" >&2; exit 2; }
nodes=${NODES:-3}
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/queue-bench.XXXXXX")
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

# worker NAME ARGS...: starts `scanwire worker` (JSON lines to $work/NAME.jsonl) and waits
# for its first report (its setup done).
worker() {
    local name=$1
    shift
    "$bin" worker --queue "$url" --json "$@" >"$work/$name.jsonl" 2>"$work/$name.err" &
    pids+=($!)
    eval "wpid_$name=$!"
    for _ in $(seq 1 600); do
        [ -s "$work/$name.jsonl" ] && return
        sleep 0.1
    done
    echo "worker $name did not start: $(cat "$work/$name.err")" >&2
    exit 1
}
stop_worker() {
    local pid
    pid=$(eval echo "\$wpid_$1")
    kill -INT "$pid"
    wait "$pid" 2>/dev/null || true
}

ocr=(scan --source adf --set sheets="$pages" --mode gray --resolution 300 --set content=text --ocr eng --quiet)

echo "== $pages pages, A4-wide 300 dpi gray text, searchable PDF (eng); $nodes-node cluster"
t0=$(now)
"$bin" "${ocr[@]}" --json -o "$work/local.pdf" >"$work/local.json"
t1=$(now)
local_s=$(secs "$t0" "$t1")
ocr_mean=$(python3 -c "
import json; r = json.load(open('$work/local.json'))
s = [p['ocr_seconds'] for p in r['ocr']]; print(round(sum(s) / len(s), 3))")
echo "local (one engine per core):   ${local_s} s  $(per_min "$pages" "$local_s") pages/min  (mean OCR ${ocr_mean} s/page)"

for n in 1 2; do
    for w in $(seq 1 "$n"); do worker "w${n}_$w" --threads 1 --interval 5; done
    t0=$(now)
    "$bin" "${ocr[@]}" --queue "$url" -o "$work/q$n.pdf"
    t1=$(now)
    s=$(secs "$t0" "$t1")
    same=$(cmp -s "$work/local.pdf" "$work/q$n.pdf" && echo "same bytes as local" || echo "DIFFERENT from local")
    echo "queue, $n worker process(es):  ${s} s  $(per_min "$pages" "$s") pages/min  ($same)"
    for w in $(seq 1 "$n"); do stop_worker "w${n}_$w"; done
done

echo "== the queue's per-page overhead against a page's OCR (1 worker, --threads 1)"
# The pages are queued first (no worker yet); then one worker takes them one at a time. Its
# wall time until the last page is stored, minus its time in the stages (OCR included),
# per page, is what the queue costs a worker per page: fetching and checking the image,
# storing the result, marking it done, acknowledging (and the worker's start).
# The cluster's CPU (every node's user + system time, from /proc) over this run, per page:
# what storing, replicating and serving a page's objects and messages costs the servers.
cluster_cpu() {
    local t=0 p
    for p in "${pids[@]:0:$nodes}"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
cpu0=$(cluster_cpu)
"$bin" "${ocr[@]/--quiet/--json}" --queue "$url" -o "$work/over.pdf" >"$work/over.json" 2>"$work/over.err" &
scan_pid=$!
pids+=($scan_pid)
for _ in $(seq 1 3000); do
    grep -q '"event":"progress"' "$work/over.err" 2>/dev/null && break
    sleep 0.1
done
worker over --threads 1 --interval 0.1
wait "$scan_pid"
cpu1=$(cluster_cpu)
stop_worker over
python3 -c "print(f'the {$nodes} nats-server(s): {($cpu1 - $cpu0) / $(getconf CLK_TCK) / $pages * 1000:.0f} ms of CPU per page (publish, work, store, assemble, fetch)')"
python3 - "$work/over.jsonl" "$pages" <<'EOF2'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
pages = int(sys.argv[2])
done = next(l for l in lines if l["pages"] >= pages)
over = (done["elapsed_seconds"] - done["busy_seconds"]) / pages
ocr = done["busy_seconds"] / pages
enc = done.get("encode_seconds", 0) / pages
res = done.get("result_bytes", 0) / pages
print(f"{pages} pages stored after {done['elapsed_seconds']:.2f} s, {done['busy_seconds']:.2f} s "
      f"of it in the stages: {over * 1000:.0f} ms/page of queue work = "
      f"{100 * over / ocr:.1f} % of a page's stages ({ocr:.2f} s, OCR included; of it "
      f"{enc * 1000:.0f} ms encoding the page's PDF image); result {res / 1e6:.2f} MB/page")
EOF2

jobs=$(((rss_pages + 49) / 50))
echo "== a worker's RSS over $((jobs * 50)) pages (--deskew, 150 dpi gray text; $jobs jobs of 50)"
worker rss --threads 1 --interval 2
for j in $(seq 1 $jobs); do
    "$bin" scan --source adf --set sheets=50 --mode gray --resolution 150 \
        --set content=text --deskew --quiet --queue "$url" -o "$work/rss-$j.pdf"
done
stop_worker rss
python3 - "$work/rss.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rss = [(l["pages"], l["rss_bytes"]) for l in lines if l.get("rss_bytes")]
after10 = next((r for r in rss if r[0] >= 10), rss[0])
mb = lambda b: f"{b / 2**20:.1f} MiB"
print(f"after {after10[0]} pages {mb(after10[1])}, largest {mb(max(r for _, r in rss))}, "
      f"at the end ({rss[-1][0]} pages) {mb(rss[-1][1])}")
# After each job of 50 (its assembly holds the job's results): flat once the first is done.
marks = []
for n in range(50, rss[-1][0] + 1, 50):
    r = next((r for r in rss if r[0] >= n), None)
    if r:
        marks.append(f"{r[0]}: {mb(r[1])}")
print("by pages done: " + ", ".join(marks))
EOF
