#!/usr/bin/env bats
# scripts/ci-sweep.sh, the CI gate: recording a baseline, passing against
# it, failing on a real slowdown, and refusing bad options.

load helpers

CI="$SRCDIR/scripts/ci-sweep.sh"

gate() {
	run --separate-stderr "$CI" --synclab "$SYNCLAB" --prims mutex,spin-ttas \
		--threads 1 --repeat 4 --duration 30ms "$@"
}

@test "a recorded baseline, then the same build against it: exit 0 with artifacts" {
	gate --out "$T/rec" --baseline "$T/base.csv" --update-baseline
	expect_status 0
	[ "$(wc -l < "$T/base.csv")" -eq 9 ] || flunk "expected 2 points x 4 runs: $(wc -l < "$T/base.csv") lines"
	# The same build: what this checks is the passing path and its
	# artifacts, so the threshold is wide -- 30 ms windows while other
	# tests share the CPUs can differ by tens of percent.
	gate --out "$T/ci" --baseline "$T/base.csv" --threshold 80
	expect_status 0
	expect_stdout_has "mutex" "spin-ttas"
	[ -s "$T/ci/compare.txt" ] && [ -s "$T/ci/compare.csv" ] && [ -s "$T/ci/new.csv" ] ||
		flunk "missing artifacts: $(ls "$T/ci")"
	[ -s "$T/ci/charts/throughput.gp" ] || flunk "no charts: $(ls "$T/ci/charts")"
}

@test "a baseline twice as fast as this build is a regression: exit 1" {
	gate --out "$T/rec" --baseline "$T/base.csv" --update-baseline
	expect_status 0
	# Make the recorded mutex runs do twice the ops in the same time and
	# CPU time: the build under test is then 50% slower.
	awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "ops") o = i; if ($i == "ops_per_sec") r = i; if ($i == "primitive") p = i }; print; next }
		$p == "mutex" { $o = $o * 2; $r = $r * 2 } { print }' "$T/base.csv" > "$T/fast.csv"
	gate --out "$T/ci" --baseline "$T/fast.csv"
	expect_status 1
	expect_stdout_has "slower"
	expect_stderr_has "REGRESSION"
}

@test "bad options and a missing baseline exit 2 with one line" {
	run --separate-stderr "$CI" --repeat x
	expect_status 2
	expect_stderr_has "--repeat"
	run --separate-stderr "$CI" --frobnicate
	expect_status 2
	expect_stderr_has "unknown option '--frobnicate'"
	gate --out "$T/ci" --baseline "$T/none.csv"
	expect_status 2
	expect_stderr_has "no baseline at"
}
