#!/bin/sh
# scripts/ci-sweep.sh: gate a change to a lock on its measured speed.
#
# Runs a short sweep of the primitives most changes touch, compares it with
# a base using `synclab compare`, and leaves the results, the comparison and
# the charts in one directory for the CI job to keep as artifacts.  The exit
# status is compare's: 0 nothing regressed beyond the threshold, 1 a point
# got slower (or failed), 2 the results could not be compared; 2 as well for
# a bad option here.
#
# Two ways to get the base:
#
#   scripts/ci-sweep.sh --base-ref origin/main
#       builds REF in a temporary git worktree and alternates runs of the
#       base and the new binary, one repetition each, so both sides see the
#       same machine conditions (on shared CI machines load drifts by tens of
#       percent between minutes; see COMPARE OPTIONS in synclab(1)).  The robust way.
#
#   scripts/ci-sweep.sh [--baseline FILE]
#       compares with a results CSV kept in the repository (default
#       tests/data/ci-baseline.csv, recorded on a 2-vCPU KVM guest).  Only
#       meaningful on the machine class it was recorded on (record it there
#       with `scripts/ci-sweep.sh --update-baseline` and commit the file),
#       and coarse even there: a virtual machine whose vCPUs the host moves
#       between cores can run multi-thread points several times faster or
#       slower from one minute to the next (here, 2-thread spinlock points
#       moved by 5x between the baseline and a check of the same build), and
#       no statistic over one side's repetitions can tell that from a
#       regression.  Prefer --base-ref wherever the base can be built.
#
# A CI recipe (any CI; GitHub Actions shown):
#
#   - run: scripts/install-deps.sh && make
#   - run: scripts/ci-sweep.sh --base-ref origin/main --out ci-sweep
#   - uses: actions/upload-artifact@v4
#     if: always()
#     with: { name: ci-sweep, path: ci-sweep }
#
# Options:
#   --base-ref REF       base: build this git revision and alternate with it
#   --baseline FILE      base: a results CSV (default tests/data/ci-baseline.csv)
#   --update-baseline    write the new results to the baseline file; no compare
#   --out DIR            where everything goes (default ci-sweep)
#   --prims LIST         primitives (default spin-ticket,spin-mcs,mutex,adaptive,rwlock)
#   --threads LIST       thread counts (default 1 and the number of usable CPUs)
#   --repeat R           repetitions per side (default 5; compare needs 4+)
#   --duration TIME      window of each run (default 200ms)
#   --threshold PCT      passed to synclab compare (default 5)
#   --synclab PATH       the binary under test (default ./synclab)
set -eu

die_usage() {
	echo "ci-sweep.sh: $*" >&2
	exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
base_ref=
baseline=$root/tests/data/ci-baseline.csv
update=0
out=ci-sweep
prims=spin-ticket,spin-mcs,mutex,adaptive,rwlock
cpus=$(nproc 2>/dev/null || echo 2)
threads=1,$cpus
[ "$cpus" -gt 1 ] || threads=1
repeat=5
duration=200ms
threshold=5
synclab=./synclab

while [ $# -gt 0 ]; do
	case $1 in
	--base-ref) [ $# -ge 2 ] || die_usage "--base-ref needs a git revision"; base_ref=$2; shift 2 ;;
	--baseline) [ $# -ge 2 ] || die_usage "--baseline needs a file"; baseline=$2; shift 2 ;;
	--update-baseline) update=1; shift ;;
	--out) [ $# -ge 2 ] || die_usage "--out needs a directory"; out=$2; shift 2 ;;
	--prims) [ $# -ge 2 ] || die_usage "--prims needs a list"; prims=$2; shift 2 ;;
	--threads) [ $# -ge 2 ] || die_usage "--threads needs a list"; threads=$2; shift 2 ;;
	--repeat) [ $# -ge 2 ] || die_usage "--repeat needs a count"; repeat=$2; shift 2 ;;
	--duration) [ $# -ge 2 ] || die_usage "--duration needs a time"; duration=$2; shift 2 ;;
	--threshold) [ $# -ge 2 ] || die_usage "--threshold needs a percentage"; threshold=$2; shift 2 ;;
	--synclab) [ $# -ge 2 ] || die_usage "--synclab needs a path"; synclab=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die_usage "unknown option '$1' (see --help)" ;;
	esac
done
case $repeat in
''|*[!0-9]*) die_usage "--repeat: '$repeat' is not a count (accepted: 1 or more; compare needs 4)" ;;
esac
[ "$repeat" -ge 1 ] || die_usage "--repeat: '$repeat' is out of range (accepted: 1 or more)"
[ -x "$synclab" ] || die_usage "no synclab binary at '$synclab' (run make first, or give --synclab)"
[ -n "$base_ref" ] && [ "$update" = 1 ] && die_usage "--update-baseline records this build: not with --base-ref"

if [ -z "$base_ref" ] && [ "$update" = 0 ] && [ ! -r "$baseline" ]; then
	die_usage "no baseline at '$baseline' (record one with --update-baseline, or use --base-ref)"
fi

mkdir -p "$out"
rm -rf "$out/new" "$out/base" "$out/new.csv" "$out/base.csv"

# One sweep of one repetition into DIR; rep numbers are set afterwards.
sweep_once() { # BINARY DIR
	"$1" sweep --prims "$prims" --threads "$threads" --repeat 1 \
		--duration "$duration" --warmup 50ms --counters none --quiet \
		--out "$2" >/dev/null
}

# Append the rows of a one-repetition run to SIDE.csv.  Every run's rows
# keep rep 1: compare reads a repeated rep number as another run of the
# point, which is what each one is.
append_rep() { # RESULTS SIDE_CSV
	if [ ! -s "$2" ]; then
		head -n 1 "$1" >"$2"
	fi
	tail -n +2 "$1" >>"$2"
}

if [ -n "$base_ref" ]; then
	command -v git >/dev/null || die_usage "--base-ref needs git"
	git -C "$root" rev-parse --verify --quiet "$base_ref^{commit}" >/dev/null ||
		die_usage "--base-ref: '$base_ref' is not a revision of this repository"
	work=$(mktemp -d)
	trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
	echo "ci-sweep: building $base_ref in a temporary worktree" >&2
	git -C "$root" worktree add --detach "$work/src" "$base_ref" >/dev/null 2>&1
	make -C "$work/src" -j"$cpus" >/dev/null
	base_bin=$work/src/synclab
	r=1
	while [ "$r" -le "$repeat" ]; do
		echo "ci-sweep: repetition $r of $repeat (base, then new)" >&2
		sweep_once "$base_bin" "$out/base-$r"
		append_rep "$out/base-$r/results.csv" "$out/base.csv"
		sweep_once "$synclab" "$out/new-$r"
		append_rep "$out/new-$r/results.csv" "$out/new.csv"
		rm -rf "$out/base-$r"
		[ "$r" -eq "$repeat" ] || rm -rf "$out/new-$r"
		r=$((r + 1))
	done
	base_csv=$out/base.csv
else
	r=1
	while [ "$r" -le "$repeat" ]; do
		echo "ci-sweep: repetition $r of $repeat" >&2
		sweep_once "$synclab" "$out/new-$r"
		append_rep "$out/new-$r/results.csv" "$out/new.csv"
		[ "$r" -eq "$repeat" ] || rm -rf "$out/new-$r"
		r=$((r + 1))
	done
	base_csv=$baseline
fi
mv "$out/new-$repeat" "$out/charts"
rm -f "$out/charts/results.csv" "$out/charts/summary.csv"
"$synclab" plot "$out/new.csv" -o "$out/charts" >/dev/null 2>&1 || true

if [ "$update" = 1 ]; then
	mkdir -p "$(dirname "$baseline")"
	cp "$out/new.csv" "$baseline"
	echo "ci-sweep: recorded the baseline $baseline ($(($(wc -l <"$baseline") - 1)) rows); commit it" >&2
	exit 0
fi

status=0
"$synclab" compare --threshold "$threshold" --csv "$out/compare.csv" \
	"$base_csv" "$out/new.csv" >"$out/compare.txt" || status=$?
cat "$out/compare.txt"
case $status in
0) echo "ci-sweep: no regression beyond ${threshold}% (artifacts in $out)" >&2 ;;
1) echo "ci-sweep: REGRESSION: see $out/compare.txt and the charts in $out/charts" >&2 ;;
*) echo "ci-sweep: the results could not be compared (see above)" >&2 ;;
esac
exit "$status"
