#!/usr/bin/env bats
# synclab demo: the memory experiments -- cacheline-pingpong,
# store-buffering, peterson, percpu-counter -- in short mode: their measured
# figures, their files, the outcomes that must hold whatever the machine
# (a fenced litmus test and a seq_cst Peterson lock never fail), and the
# plain "cannot show it here" answer on one CPU.

load helpers

# csv_row FILE LABEL COLUMN: the value in the row whose first field is LABEL.
csv_row() {
	python3 - "$1" "$2" "$3" <<'EOF'
import csv, sys
path, label, col = sys.argv[1:4]
with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
first = next(iter(rows[0])) if rows else None
for r in rows:
    if r[first] == label:
        print(r[col])
        sys.exit(0)
sys.exit(f"{path}: no row {label!r}")
EOF
}

# expect_files DIR DEMO STEM: the evidence table, its chart and the runs CSV.
expect_files() {
	[ -s "$1/$2-$3.csv" ] || flunk "no table CSV $2-$3.csv"
	[ "$(csv_check "$1/$2-$3.csv")" -ge 2 ] || flunk "$2-$3.csv: fewer than 2 rows"
	[ -s "$1/$2-$3.gp" ] || flunk "no gnuplot script for $2-$3"
	[ -s "$1/$2-runs.csv" ] || flunk "no runs CSV for $2"
	csv_check "$1/$2-runs.csv" >/dev/null || flunk "$2-runs.csv is not valid CSV"
	if command -v gnuplot >/dev/null; then
		head -c 4 "$1/$2-$3.png" | od -An -c | grep -q 'P   N   G' ||
			flunk "$2-$3.png is not a PNG"
	fi
}

@test "the memory experiments are listed with their questions" {
	run --separate-stderr "$SYNCLAB" demo
	expect_status 0
	expect_stdout_has "cacheline-pingpong" "store-buffering" "peterson" "percpu-counter"
}

@test "cacheline-pingpong --quick times each placement and explains from the numbers" {
	require_two_pus
	# Three runs: a busy machine may starve the same-PU pair for a whole
	# 50 ms window, and medians leave such a run out.
	run --separate-stderr "$SYNCLAB" demo cacheline-pingpong --quick --repeat 3 --out "$T/out"
	expect_status 0
	expect_stdout_has "round trip p50 (ns)" "ctx switches (/hand-off)" \
		"same PU, spinning waiter" "same PU, yielding waiter" "(PUs 0,1)"
	[[ "$output" =~ took\ [0-9]+\ ns\ \(median\ round\ trip\) ]] || { show_run; flunk "no measured round trip"; }
	# What this 2-PU machine lacks is named, not silently skipped.
	expect_stdout_has "Absent here" "SMT siblings"
	expect_files "$T/out" cacheline-pingpong round-trip
	f="$T/out/cacheline-pingpong-round-trip.csv"
	head -1 "$f" | grep -q '^placement,round trip p50_ns,round trip mean_ns' || flunk "header: $(head -1 "$f")"
	[ "$(csv_check "$f")" -eq 3 ] || flunk "expected 3 placements"
	# Sharing one PU, every hand-off is a context switch; a spinning waiter
	# holds the PU for a time slice, far longer than a yield.  (A yield
	# also lets other processes run: beside a busy test suite a yielding
	# round trip has taken over a millisecond, so the margin is 3x, not
	# the 100x of a quiet machine.)
	yield_cs=$(csv_row "$f" "same PU, yielding waiter (PU 0)" "ctx switches_/hand-off")
	yield_rt=$(csv_row "$f" "same PU, yielding waiter (PU 0)" "round trip mean_ns")
	spin_rt=$(csv_row "$f" "same PU, spinning waiter (PU 0)" "round trip mean_ns")
	python3 -c "import sys; sys.exit(0 if float('$yield_cs') >= 0.5 else 1)" ||
		flunk "yielding on one PU: $yield_cs context switches per hand-off"
	python3 -c "import sys; sys.exit(0 if float('$spin_rt') > 3 * float('$yield_rt') else 1)" ||
		flunk "spinning on one PU ($spin_rt ns) not far slower than yielding ($yield_rt ns)"
}

@test "cacheline-pingpong on one CPU shows the same-PU rows, then exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo cacheline-pingpong --quick
	expect_status 3
	expect_stdout_has "same PU, yielding waiter" "a second core on the L3"
	expect_stderr_has "cannot show it" "at least 2 CPUs"
}

@test "store-buffering --quick counts r1=r2=0 and never sees it with the fence" {
	run --separate-stderr "$SYNCLAB" demo store-buffering --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "r1=r2=0 (/M iterations)" "relaxed" "seq_cst fence" "store buffer"
	[[ "$output" =~ never\ happened\ in\ [0-9]+ ]] || { show_run; flunk "no fenced count"; }
	expect_files "$T/out" store-buffering outcomes
	f="$T/out/store-buffering-outcomes.csv"
	[ "$(csv_row "$f" "seq_cst fence" "r1=r2=0_count")" = 0 ] || flunk "fenced r1=r2=0 not 0"
	csv_each "$f" 'num(r["iterations_count"]) >= 0 and num(r["r1=r2=0_/M iterations"]) <= 1e6' ||
		flunk "iterations or rates missing"
}

@test "store-buffering on one CPU says what is missing and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo store-buffering --quick
	expect_status 3
	expect_stderr_has "cannot show it" "store buffer" "at least 2 CPUs"
}

@test "peterson --quick counts violations; the seq_cst lock has none" {
	run --separate-stderr "$SYNCLAB" demo peterson --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "overlaps (/M entries)" "lost updates (/M entries)" "With seq_cst accesses the lock held"
	expect_files "$T/out" peterson violations
	f="$T/out/peterson-violations.csv"
	[ "$(csv_row "$f" seq_cst "overlaps seen_count")" = 0 ] || flunk "seq_cst overlapped"
	[ "$(csv_row "$f" seq_cst "lost updates_count")" = 0 ] || flunk "seq_cst lost updates"
	# Entries can be 0 when a loaded machine starves a thread for a whole
	# 50 ms window, but they are always measured.
	csv_each "$f" 'num(r["entries_ops/s"]) >= 0 and num(r["hand-offs_/entry"]) <= 1' ||
		flunk "entries or hand-offs not measured"
}

@test "peterson on one CPU says what is missing and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo peterson --quick
	expect_status 3
	expect_stderr_has "cannot show it" "at least 2 CPUs"
}

@test "percpu-counter --quick measures updates, read cost and staleness" {
	run --separate-stderr "$SYNCLAB" demo percpu-counter --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "updates (ops/s)" "read cost (ns)" "moved during a read (increments)" \
		"shared atomic" "per-CPU shards"
	[[ "$output" =~ cost\ [0-9]+\ ns\ against\ [0-9]+\ ns ]] || { show_run; flunk "no read costs quoted"; }
	expect_files "$T/out" percpu-counter updates
	expect_files "$T/out" percpu-counter reads
	pus=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status | python3 -c '
import sys
n = 0
for part in sys.stdin.read().strip().split(","):
    lo, _, hi = part.partition("-")
    n += int(hi or lo) - int(lo) + 1
print(n)')
	f="$T/out/percpu-counter-reads.csv"
	[ "$(csv_row "$f" "per-CPU shards" "lines read_count")" = "$pus" ] || flunk "a sum should read $pus shards"
	[ "$(csv_row "$f" "shared atomic" "lines read_count")" = 1 ] || flunk "a shared read is one line"
	csv_each "$f" 'num(r["read cost_ns"]) > 0 and num(r["moved during a read_increments"]) >= 0' ||
		flunk "read figures missing"
}

@test "percpu-counter on one CPU says what is missing and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo percpu-counter --quick
	expect_status 3
	expect_stderr_has "cannot show it" "at least 2 CPUs"
}
