#!/usr/bin/env bash
# Processing in the page pipeline (issue 13's pipeline targets), on the virtual scanner's
# feeder: A4 sheets at 300 dpi in colour, turned 2.5°, one in seven blank (texture, noise,
# holes, bleed-through), into one PDF.
#  1. At a real feeder's pace (`--set ppm=60`): the job with `--deskew --crop --blank skip`
#     against the same job without processing (target <= 1.05x: processing hides behind the
#     scan). hyperfine runs them in turns.
#  2. At full speed (`ppm=0`): pages per minute with processing, and without for reference
#     (target >= 1,500 pages/min on two cores).
#  3. Peak RSS (GNU time %M) of the processed job with 50 pages against 5 (target <= 1.2x).
#
# Usage: bench/processing-pipeline.sh [RUNS] [PAGES]   (default 3 runs of 20 pages)
#   RES=150 for a quicker look; SCANWIRE_BIN=path to measure another build (see lib.sh).
# Needs hyperfine, GNU time, qpdf, python3. Output goes to a temporary directory under
# BENCH_DIR (default TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
pages=${2:-20}
res=${RES:-300}
source bench/lib.sh
need "hyperfine time qpdf python3" hyperfine /usr/bin/time qpdf python3
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/processing-pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Blank sheets: the second, then every seventh (2, 9, 16, ...), so every job has some in the
# same proportion.
blanks() { # sheets
    seq 2 7 "$1" | paste -sd,
}
job() { # sheets ppm
    echo "$bin scan -q --source adf --mode color --resolution $res --set sheets=$1 --set ppm=$2" \
        "--set skew=2.5 --set paper=a4 --set blank-sheets=$(blanks "$1")"
}
processing="--deskew --crop --blank skip"

echo "== validity ($pages sheets, blank sheets $(blanks "$pages"))"
$(job "$pages" 0) $processing -o "$work/doc.pdf"
qpdf --check "$work/doc.pdf" >/dev/null
kept=$(qpdf --show-npages "$work/doc.pdf")
expected=$((pages - $(blanks "$pages" | tr ',' '\n' | wc -l)))
[ "$kept" = "$expected" ] || { echo "expected $expected pages, got $kept" >&2; exit 1; }
echo "  doc.pdf: qpdf --check ok, $kept pages kept of $pages"

echo "== 1. at 60 pages/min: with and without processing"
hyperfine --runs "$runs" --warmup 0 --export-json "$work/paced.json" \
    -n "with processing" "$(job "$pages" 60) $processing -o $work/p.pdf" \
    -n "without" "$(job "$pages" 60) -o $work/n.pdf"

echo "== 2. at full speed"
hyperfine --runs "$runs" --warmup 1 --export-json "$work/full.json" \
    -n "with processing" "$(job "$pages" 0) $processing -o $work/p.pdf" \
    -n "without" "$(job "$pages" 0) -o $work/n.pdf"

echo "== 3. peak RSS, 5, 25 and 50 pages with processing"
# Also with glibc's mmap threshold fixed (MALLOC_MMAP_THRESHOLD_): by default glibc raises
# it to the largest block freed so far (up to 32 MiB), so after the first pages whole page
# buffers come from its heaps, which keep freed memory; RSS then climbs for some pages and
# levels off. The fixed threshold shows what the pipeline itself holds.
: >"$work/rss"
for _ in $(seq "$runs"); do
    for n in 5 25 50; do
        /usr/bin/time -f "$n %M" -a -o "$work/rss" $(job "$n" 0) $processing -o "$work/m.pdf"
    done
    for n in 5 50; do
        MALLOC_MMAP_THRESHOLD_=131072 /usr/bin/time -f "fixed$n %M" -a -o "$work/rss" \
            $(job "$n" 0) $processing -o "$work/m.pdf"
    done
done

python3 - "$work" "$pages" "$res" <<'PY'
import json, statistics, sys
work, pages, res = sys.argv[1], int(sys.argv[2]), sys.argv[3]
med = statistics.median
def times(name):
    return {r["command"]: med(r["times"]) for r in json.load(open(f"{work}/{name}.json"))["results"]}
paced, full = times("paced"), times("full")
ratio = paced["with processing"] / paced["without"]
print(f"| {pages} sheets A4 {res} dpi color, 2.5° skew, blank sheets skipped, one PDF | time | pages/min scanned |")
print("|---|---|---|")
for label, t in (("ppm=60, --deskew --crop --blank skip", paced["with processing"]),
                 ("ppm=60, no processing", paced["without"]),
                 ("ppm=0, --deskew --crop --blank skip", full["with processing"]),
                 ("ppm=0, no processing", full["without"])):
    print(f"| {label} | {t:.2f} s | {pages * 60 / t:.0f} |")
print(f"\nat 60 ppm, with / without processing: **{ratio:.3f}x** "
      f"(target <= 1.05x: {'met' if ratio <= 1.05 else 'NOT met'})")
fp = pages * 60 / full["with processing"]
print(f"full speed with processing: **{fp:.0f} pages/min** "
      f"(target >= 1,500: {'met' if fp >= 1500 else 'NOT met'})")
rss = {}
for line in open(f"{work}/rss"):
    n, kib = line.split()
    rss.setdefault(n, []).append(int(kib))
m5, m25, m50 = med(rss["5"]), med(rss["25"]), med(rss["50"])
r = m50 / m5
print(f"peak RSS with processing: 5 pages {m5:,} KiB, 25 pages {m25:,} KiB, 50 pages "
      f"{m50:,} KiB: 50/5 **{r:.2f}x** (target <= 1.2x: {'met' if r <= 1.2 else 'NOT met'}), "
      f"50/25 {m50 / m25:.2f}x")
f5, f50 = med(rss["fixed5"]), med(rss["fixed50"])
print(f"  with MALLOC_MMAP_THRESHOLD_=131072: 5 pages {f5:,} KiB, 50 pages {f50:,} KiB: "
      f"**{f50 / f5:.2f}x**")
print(f"\nmedians of the runs; time = wall clock of the whole command (hyperfine), "
      f"RSS = GNU time %M")
PY
