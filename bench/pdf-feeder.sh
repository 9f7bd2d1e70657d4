#!/usr/bin/env bash
# Issue 4's feeder benchmark on the virtual scanner:
#  1. a 20-page A4 300 dpi color feeder scan into one PDF (`scanwire scan --source adf
#     --set sheets=20 -o doc.pdf`): pages per minute, against the same scan to one PNM file
#     per page (the raw throughput of scanner, transfer and disk) in the same run;
#  2. peak memory (GNU time %M) of 50 pages into one PDF against 5 pages (target <= 1.2x).
# The runs alternate (PDF, PNM, PDF, ...) and the table gives medians.
#
# Usage: bench/pdf-feeder.sh [RUNS]   (default 5; needs GNU time, qpdf, python3)
# Output goes to a temporary directory under BENCH_DIR (default TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
source bench/lib.sh
need "time qpdf python3" /usr/bin/time qpdf python3
# SCANWIRE_BIN=path runs another build (say, of an older commit) instead of this checkout's.
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/pdf-feeder.XXXXXX")
trap 'rm -rf "$work"' EXIT

scan() { # sheets output...
    local n=$1
    shift
    "$bin" scan -q --source adf --set "sheets=$n" --mode color --resolution 300 -x 210 -y 297 "$@"
}

echo "== validity"
scan 20 -o "$work/doc.pdf"
qpdf --check "$work/doc.pdf" >/dev/null
pages=$(qpdf --show-npages "$work/doc.pdf")
[ "$pages" = 20 ] || { echo "expected 20 pages, got $pages" >&2; exit 1; }
echo "  doc.pdf: qpdf --check ok, $pages pages, $(stat -c %s "$work/doc.pdf") bytes"
rm -f "$work/doc.pdf"

# One timed run: appends "name micros rss_kib bytes" to results.
measure() { # name sheets output-pattern
    local d="$work/run"
    rm -rf "$d" && mkdir "$d"
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$work/rss" "$bin" scan -q --source adf --set "sheets=$2" \
        --mode color --resolution 300 -x 210 -y 297 -o "$d/$3" >/dev/null
    t1=$(date +%s%N)
    local bytes
    bytes=$(find "$d" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    echo "$1 $(((t1 - t0) / 1000)) $(tail -1 "$work/rss") $bytes" >>"$work/results"
}

echo "== $runs runs each, in turns (scanwire $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
: >"$work/results"
measure warm 20 doc.pdf
measure warm 20 'p-{n}.pnm'
for _ in $(seq "$runs"); do
    measure pdf20 20 doc.pdf
    measure pnm20 20 'p-{n}.pnm'
    measure pdf5 5 doc.pdf
    measure pdf50 50 doc.pdf
done

python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, us, rss, size = line.split()
    if name == "warm":
        continue
    r = rows.setdefault(name, {"t": [], "m": [], "s": []})
    r["t"].append(int(us) / 1e6); r["m"].append(int(rss)); r["s"].append(int(size))
med = statistics.median
pdf, pnm = rows["pdf20"], rows["pnm20"]
tp, tn = med(pdf["t"]), med(pnm["t"])
print("| 20 pages A4 300 dpi color, virtual scanner feeder | time | pages/min | peak RSS | output |")
print("|---|---|---|---|---|")
print(f"| one PDF (`-o doc.pdf`, DCT q85) | {tp:.2f} s | **{20 * 60 / tp:.0f}** | "
      f"{med(pdf['m']):,} KiB | {med(pdf['s']):,} B |")
print(f"| baseline: a PNM file per page (`-o p-{{n}}.pnm`) | {tn:.2f} s | {20 * 60 / tn:.0f} | "
      f"{med(pnm['m']):,} KiB | {med(pnm['s']):,} B |")
print(f"\nPDF / PNM time: {tp / tn:.2f}x")
m5, m50 = med(rows["pdf5"]["m"]), med(rows["pdf50"]["m"])
ratio = m50 / m5
print(f"\npeak RSS, one PDF: 5 pages {m5:,} KiB, 50 pages {m50:,} KiB: "
      f"**{ratio:.2f}x** (target <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})")
print(f"\nmedians of {len(pdf['t'])} runs; time = wall clock of the whole command, "
      f"RSS = GNU time %M")
PY
