#!/usr/bin/env bash
# scanwire against scanimage on the same SANE test-backend scan (issue 3's benchmark):
# A4 color, "Color pattern", 300 and 600 dpi, to PNM and to PNG. The two programs run in
# turns (scanwire, scanimage, scanwire, ...) so load on the machine hits both alike; the table
# gives medians of wall time and of peak RSS (GNU time's %M), the file size, and the ratios
# scanwire / scanimage. Before timing, scanwire's PNM pixels are checked against scanimage's
# (their headers differ only by scanimage's "# SANE data follows" comment).
#
# ISOLATE=on runs scanwire's driver in a driver host (`scan --isolate`, as `serve` does); the
# default, off, scans in process (`scan`'s default). GNU time's peak RSS is then the larger of
# the two processes (wait4's ru_maxrss), not their sum. The first line says which.
#
# Usage: [ISOLATE=on|off] bench/sane-vs-scanimage.sh [RUNS]   (default 5; needs scanimage,
# libsane1, GNU time)
# Output files go to a temporary directory on the disk holding this checkout's target dir's
# parent (set BENCH_DIR to choose), never to /dev/null: writing the file is part of the job.
# BENCH_DIR=/dev/shm takes the disk (writeback, other programs' I/O) out of the comparison;
# on a disk, scanwire also starts writeback as it writes (partfile.rs), scanimage does not.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
isolate=${ISOLATE:-off}
case $isolate in
on) isolation=(--isolate) ;;
off) isolation=() ;;
*) echo "ISOLATE=$isolate: expected on or off" >&2; exit 2 ;;
esac
source bench/lib.sh
need "sane-utils time python3" scanimage /usr/bin/time python3

# SCANWIRE_BIN=path runs another build (say, of an older commit) instead of this checkout's.
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/sane-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

sane_test_config "$work/sane.d"
export SANE_CONFIG_DIR=$work/sane.d

area=(-l 0 -t 0 -x 210 -y 297)
# The two commands, as argument lists in the array `cmd` (GNU time must run the program
# itself, not a shell function, or the shell's memory would be measured too).
cmd_for() { # prog dpi format file
    if [ "$1" = sw ]; then
        cmd=("$bin" scan -q ${isolation[@]+"${isolation[@]}"} --device sane:test:0 --set 'test-picture=Color pattern' --mode color
            --resolution "$2" "${area[@]}" --format "$3" -o "$4")
    else
        cmd=(scanimage -d test:0 --test-picture 'Color pattern' --mode Color
            --resolution "$2" "${area[@]}" --format="$3" -o "$4")
    fi
}
sw() { cmd_for sw "$@"; "${cmd[@]}" >/dev/null; }
si() { cmd_for si "$@"; "${cmd[@]}" >/dev/null; }

# One timed run: appends "prog dpi format seconds rss_kib bytes" to results.
measure() { # prog dpi format
    local f="$work/out.$3"
    rm -f "$f"
    local t0 t1 cmd
    t0=$(date +%s%N)
    cmd_for "$1" "$2" "$3" "$f"
    /usr/bin/time -f %M -o "$work/rss" "${cmd[@]}" >/dev/null
    t1=$(date +%s%N)
    echo "$1 $2 $3 $(((t1 - t0) / 1000)) $(tail -1 "$work/rss") $(stat -c %s "$f")" >>"$work/results"
    rm -f "$f"
}

# Fairness: the same pixels. PNM headers may differ only in comments.
same_pixels() { # a.pnm b.pnm
    python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    d = open(p, "rb").read()
    fields, i = [], 0
    while len(fields) < 4:
        while d[i:i+1].isspace(): i += 1
        if d[i:i+1] == b"#":
            i = d.index(b"\n", i) + 1
            continue
        j = i
        while not d[j:j+1].isspace(): j += 1
        fields.append(d[i:j]); i = j
    return fields, d[i+1:]
(ha, pa), (hb, pb) = load(sys.argv[1]), load(sys.argv[2])
if ha != hb or pa != pb:
    sys.exit(f"PNM differs: headers {ha} vs {hb}, {len(pa)} vs {len(pb)} pixel bytes")
print(f"  {' '.join(x.decode() for x in ha)}: {len(pa)} pixel bytes identical")
PY
}
echo "== pixel check (scanwire PNM vs scanimage PNM)"
for dpi in 300 600; do
    sw "$dpi" pnm "$work/check-sw.pnm"
    si "$dpi" pnm "$work/check-si.pnm"
    same_pixels "$work/check-sw.pnm" "$work/check-si.pnm"
    rm -f "$work"/check-*.pnm
done

echo "== $runs runs each, in turns (scanwire $(git rev-parse --short HEAD 2>/dev/null || echo '?') with isolation $isolate, $(scanimage --version | head -1))"
: >"$work/results"
for dpi in 300 600; do
    for fmt in pnm png; do
        sw "$dpi" "$fmt" "$work/warm.$fmt"; si "$dpi" "$fmt" "$work/warm.$fmt" # warm-up
        rm -f "$work/warm.$fmt"
        for _ in $(seq "$runs"); do
            measure sw "$dpi" "$fmt"
            measure si "$dpi" "$fmt"
        done
    done
done

python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    prog, dpi, fmt, us, rss, size = line.split()
    r = rows.setdefault((int(dpi), fmt, prog), {"t": [], "m": [], "s": []})
    r["t"].append(int(us) / 1000); r["m"].append(int(rss)); r["s"].append(int(size))
med = lambda xs: statistics.median(xs)
print("| A4 color | scanwire: time, peak RSS, size | scanimage: time, peak RSS, size "
      "| time ratio | RSS ratio | size ratio | target |")
print("|---|---|---|---|---|---|---|")
unmet = []
for dpi in (300, 600):
    for fmt in ("pnm", "png"):
        a, b = rows[(dpi, fmt, "sw")], rows[(dpi, fmt, "si")]
        ta, tb = med(a["t"]), med(b["t"])
        ma, mb = med(a["m"]), med(b["m"])
        sa, sb = med(a["s"]), med(b["s"])
        rt, rm, rs = ta / tb, ma / mb, sa / sb
        if fmt == "pnm":
            ok_t = rt <= 1.05
            target = "time ≤ 1.05×"
        else:
            ok_t = rt <= 0.5 and rs <= 1.2
            target = "time ≤ 0.5×, size ≤ 1.2×"
        ok_m = rm <= 1.0
        verdict = ("met" if ok_t else "NOT met") + "; RSS ≤ 1×: " + ("met" if ok_m else "NOT met")
        print(f"| {dpi} dpi {fmt.upper()} | {ta:.0f} ms, {ma:,} KiB, {sa:,} B "
              f"| {tb:.0f} ms, {mb:,} KiB, {sb:,} B | {rt:.2f}× | {rm:.2f}× | {rs:.3f}× "
              f"| {target}: {verdict} |")
n = len(rows[(300, "pnm", "sw")]["t"])
print(f"\nmedians of {n} runs each; time = wall clock of the whole command, RSS = GNU time %M")
PY
