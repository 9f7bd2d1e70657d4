#!/usr/bin/env bash
# scanwire against scanimage on the same SANE test-backend scans to JPEG, TIFF and PDF
# (issue 4's benchmark): A4 color 300 dpi, "Color pattern", one flatbed page and a 10-page
# feeder batch (the test backend's feeder holds 10 sheets). The two programs run in turns
# (scanwire, scanimage, scanwire, ...) so load on the machine hits both alike; the table gives
# medians of wall time and of peak RSS (GNU time's %M), the total size of the output, and the
# ratios scanwire / scanimage, against the issue's targets:
#   TIFF and PDF at least 1.5x faster (time ratio <= 0.67); JPEG at least as fast (<= 1.0);
#   every output no more than 1.2x the size of scanimage's.
# Both also write raw PNM, the floor: reading the pages from the backend and writing them,
# which no encoder can beat.
#
# What each side does (compare like with like where the tools allow):
#   JPEG: both baseline JPEG, quality 75 (scanimage's libjpeg-turbo is fixed at 75; scanwire
#         gets --quality 75), 4:2:0, standard Huffman tables. scanwire encodes on every core.
#   TIFF: scanimage writes uncompressed strips (it has no compression option); scanwire
#         writes Deflate (zlib level 2, horizontal predictor; its only TIFF setting in the
#         CLI). Batch: scanimage cannot write multi-page TIFF (--batch=x.tif overwrites one
#         file), so both write one file per page; a second row gives scanwire's multi-page
#         file against the same scanimage run.
#   PDF:  both one DCT (JPEG q75) image per page; batch = one multi-page PDF each.
#         scanimage 1.1.1's PDFs fail `qpdf --check` (wrong stream length, no startxref);
#         scanwire's are checked below.
#
# Usage: bench/formats-vs-scanimage.sh [RUNS]   (default 5; needs scanimage, libsane1, GNU
# time, qpdf, tiffinfo, python3). Output goes to a temporary directory under BENCH_DIR
# (default TMPDIR or /tmp), never to /dev/null: writing the file is part of the job.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source bench/lib.sh
need "sane-utils time python3 qpdf libtiff-tools" scanimage /usr/bin/time python3 qpdf tiffinfo

# SCANWIRE_BIN=path runs another build (say, of an older commit) instead of this checkout's.
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/formats-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

sane_test_config "$work/sane.d"
export SANE_CONFIG_DIR=$work/sane.d

area=(-l 0 -t 0 -x 210 -y 297)
# cmd_for PROG CASE DIR: the command (array `cmd`) for one case, writing into DIR.
# Cases: page-jpeg page-tiff page-pdf batch-jpeg batch-tiff batch-tiffm batch-pdf.
cmd_for() {
    local prog=$1 case=$2 dir=$3 fmt=${2#*-} batch=
    if [ "${2%%-*}" = batch ]; then batch=1; fi
    local ext=$fmt out
    if [ "$fmt" = tiffm ]; then fmt=tiff; ext=tif; fi
    if [ -z "$batch" ]; then
        out="$dir/page.$ext"
    elif [ "$case" = batch-pdf ] || { [ "$case" = batch-tiffm ] && [ "$prog" = sw ]; }; then
        out="$dir/all.$ext" # one multi-page file
    else
        out="$dir/p%d.$ext"
    fi
    if [ "$prog" = sw ]; then
        cmd=("$bin" scan -q --device sane:test:0 --set 'test-picture=Color pattern' --mode color
            --resolution 300 "${area[@]}" --quality 75 --format "$fmt" -o "$out")
        if [ -n "$batch" ]; then cmd+=(--source adf); fi
    else
        cmd=(scanimage -d test:0 --test-picture 'Color pattern' --mode Color --resolution 300
            "${area[@]}" --format="$fmt")
        if [ -n "$batch" ]; then
            cmd+=(--source 'Automatic Document Feeder' --batch="$out")
        else
            cmd+=(-o "$out")
        fi
    fi
}

# One timed run: appends "case prog micros rss_kib bytes files cpu_seconds" to results
# (CPU = user + system time of all threads, GNU time's 10 ms resolution: less sensitive to
# other load on the machine than wall time).
# The SANE test backend can deadlock at the end of a page (its reader thread is cancelled
# asynchronously by sanei_thread and may die holding a malloc lock): such a run (a watchdog error from scanwire, a timeout for
# scanimage) is counted, reported, and repeated, up to 3 attempts.
measure() { # prog case
    local d="$work/run" attempt t0 t1 cmd rc
    for attempt in 1 2 3; do
        rm -rf "$d" && mkdir "$d"
        cmd_for "$1" "$2" "$d"
        if [ "$1" = sw ]; then cmd+=(--watchdog 15); fi
        t0=$(date +%s%N)
        rc=0
        timeout 60 /usr/bin/time -f '%M %U %S' -o "$work/rss" "${cmd[@]}" >/dev/null 2>"$work/stderr" || rc=$?
        t1=$(date +%s%N)
        if [ "$rc" = 0 ]; then break; fi
        if [ "$rc" = 124 ] || grep -q 'stopped responding' "$work/stderr"; then
            echo "$1 $2: hung in the SANE backend (attempt $attempt), repeating" >&2
            echo "$1 $2" >>"$work/hangs"
            continue
        fi
        echo "$1 $2 failed:" >&2
        cat "$work/stderr" >&2
        exit 1
    done
    [ "$rc" = 0 ] || { echo "$1 $2: hung 3 times, giving up" >&2; exit 1; }
    local bytes files
    bytes=$(find "$d" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    files=$(find "$d" -type f | wc -l)
    local rss cpu
    read -r rss cpu < <(tail -1 "$work/rss" | awk '{print $1, $2 + $3}')
    echo "$2 $1 $(((t1 - t0) / 1000)) $rss $bytes $files $cpu" >>"$work/results"
}

# PNM (raw, no encoding) is the floor: what reading the pages and writing them costs each
# program before any compression.
cases=(page-pnm page-jpeg page-tiff page-pdf batch-pnm batch-jpeg batch-tiff batch-tiffm batch-pdf)

echo "== validity of scanwire's output (and page counts of both)"
for c in "${cases[@]}"; do
    for prog in sw si; do
        d="$work/check-$prog-$c"
        mkdir -p "$d"
        cmd_for "$prog" "$c" "$d"
        timeout 60 "${cmd[@]}" >/dev/null 2>&1 || echo "  ($prog $c: failed or hung; see above)"
    done
    d="$work/check-sw-$c"
    case $c in
    *pdf)
        for f in "$d"/*.pdf; do
            qpdf --check "$f" >/dev/null || { echo "qpdf --check failed: $f" >&2; exit 1; }
            echo "  $c: $(basename "$f"): qpdf --check ok, $(qpdf --show-npages "$f") page(s)"
        done ;;
    *tiff*)
        n=0
        for f in "$d"/*.tif*; do
            k=$(tiffinfo "$f" 2>/dev/null | grep -c '^TIFF Directory')
            n=$((n + k))
        done
        echo "  $c: tiffinfo reads $n page(s) in $(ls "$d" | wc -l) file(s)" ;;
    *pnm)
        echo "  $c: $(ls "$d" | wc -l) PNM file(s)" ;;
    *jpeg)
        python3 - "$d" <<'PY'
import os, struct, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    b = open(os.path.join(d, name), "rb").read()
    assert b[:2] == b"\xff\xd8" and b[-2:] == b"\xff\xd9", name
    i = 2
    while b[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + struct.unpack(">H", b[i + 2:i + 4])[0]
    h, w = struct.unpack(">HH", b[i + 5:i + 9])
print(f"  {os.path.basename(d)[9:]}: {len(os.listdir(d))} JPEG file(s), SOI..EOI, {w}x{h}")
PY
        ;;
    esac
    echo "  $c: scanimage wrote $(ls "$work/check-si-$c" | wc -l) file(s)"
    rm -rf "$work/check-sw-$c" "$work/check-si-$c"
done

echo "== $runs runs each, in turns (scanwire $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(scanimage --version | head -1))"
: >"$work/results"
for c in "${cases[@]}"; do
    measure sw "$c"; measure si "$c" # warm-up, not recorded
    sed -i "/^$c /d" "$work/results"
    for _ in $(seq "$runs"); do
        measure sw "$c"
        measure si "$c"
    done
done

if [ -s "$work/hangs" ]; then
    echo "runs that hung in the SANE test backend and were repeated: $(sort "$work/hangs" | uniq -c | tr '\n' ';')"
fi
python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    case, prog, us, rss, size, files, cpu = line.split()
    r = rows.setdefault((case, prog), {"t": [], "m": [], "s": [], "f": [], "c": []})
    r["t"].append(int(us) / 1000); r["m"].append(int(rss)); r["s"].append(int(size))
    r["f"].append(int(files)); r["c"].append(float(cpu) * 1000)
med = statistics.median
names = {
    "page-pnm": "1 page PNM (no encoding: the floor)",
    "batch-pnm": "10 pages PNM (a file each; the floor)",
    "page-jpeg": "1 page JPEG", "page-tiff": "1 page TIFF", "page-pdf": "1 page PDF",
    "batch-jpeg": "10 pages JPEG (a file each)", "batch-tiff": "10 pages TIFF (a file each)",
    "batch-tiffm": "10 pages TIFF (scanwire: one multi-page file)",
    "batch-pdf": "10 pages PDF (one file)",
}
print("| A4 color 300 dpi | scanwire: time, peak RSS, size | scanimage: time, peak RSS, size "
      "| time ratio | RSS ratio | size ratio | CPU scanwire / scanimage | target |")
print("|---|---|---|---|---|---|---|---|")
for case in names:
    if (case, "sw") not in rows:
        continue
    a, b = rows[(case, "sw")], rows[(case, "si")]
    ta, tb = med(a["t"]), med(b["t"])
    ma, mb = med(a["m"]), med(b["m"])
    sa, sb = med(a["s"]), med(b["s"])
    rt, rm, rs = ta / tb, ma / mb, sa / sb
    fmt = case.split("-")[1]
    if fmt == "pnm":
        limit, goal = None, "floor, no target"
    elif fmt == "jpeg":
        limit, goal = 1.0, "time ≤ 1×"
    else:
        limit, goal = 1 / 1.5, "time ≤ 0.67×"
    ok_t, ok_s = limit is None or rt <= limit, rs <= 1.2
    verdict = goal if limit is None else (
        f"{goal}: {'met' if ok_t else '**not met**'}; "
        f"size ≤ 1.2×: {'met' if ok_s else '**not met**'}")
    ca, cb = med(a["c"]), med(b["c"])
    print(f"| {names[case]} | {ta:.0f} ms, {ma:,} KiB, {sa:,} B | {tb:.0f} ms, {mb:,} KiB, {sb:,} B "
          f"| {rt:.2f}× | {rm:.2f}× | {rs:.3f}× | {ca:.0f} / {cb:.0f} ms | {verdict} |")
n = len(rows[("page-jpeg", "sw")]["t"])
print(f"\nmedians of {n} runs each; time = wall clock of the whole command, "
      f"RSS = GNU time %M, size = all output files, CPU = user + system time (GNU time)")
PY
