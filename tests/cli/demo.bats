#!/usr/bin/env bats
# synclab demo: the list, usage errors, and the false-sharing experiment in
# short mode -- its measured figures, its files, and the plain "cannot show
# it here" answer on one CPU.

load helpers

@test "demo with no name lists every experiment with its question" {
	run --separate-stderr "$SYNCLAB" demo
	expect_status 0
	expect_stdout_has "false-sharing" "cache line"
	expect_stderr_empty
}

@test "an unknown experiment is a one-line usage error with a suggestion" {
	run --separate-stderr "$SYNCLAB" demo false-sharin
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "unknown experiment 'false-sharin'" "did you mean 'false-sharing'"
	expect_stdout_empty
}

@test "two experiments at once is a usage error" {
	run --separate-stderr "$SYNCLAB" demo false-sharing false-sharing
	expect_status 2
	expect_one_stderr_line
	expect_stdout_empty
}

@test "an --out that is a file is a usage error and nothing runs" {
	touch "$T/file"
	run --separate-stderr "$SYNCLAB" demo false-sharing --quick --out "$T/file"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--out"
	expect_stdout_empty
}

@test "false-sharing --quick measures both layouts and explains from the numbers" {
	run --separate-stderr "$SYNCLAB" demo false-sharing --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "packed (one line)" "padded (own lines)" "throughput (ops/s)" "per op (ns)"
	# The explanation quotes a measured ratio, whichever way it came out.
	[[ "$output" =~ ([0-9.]+x\ faster|by\ only\ [0-9.]+x) ]] || { show_run; flunk "no measured ratio"; }
	# No PMU here: misses are not supported, shown as such, never 0.
	if ! "$SYNCLAB" list counters | grep -q 'cache-misses.*yes'; then
		expect_stdout_has "n/s"
	fi
	[ -s "$T/out/false-sharing-throughput.csv" ] || flunk "no table CSV"
	head -1 "$T/out/false-sharing-throughput.csv" | grep -q '^layout,threads,throughput_ops/s' ||
		flunk "table CSV header: $(head -1 "$T/out/false-sharing-throughput.csv")"
	[ "$(wc -l < "$T/out/false-sharing-throughput.csv")" -eq 3 ] || flunk "expected 2 rows"
	[ -s "$T/out/false-sharing-throughput.gp" ] || flunk "no gnuplot script"
	[ -s "$T/out/false-sharing-runs.csv" ] || flunk "no runs CSV"
	[ "$(wc -l < "$T/out/false-sharing-runs.csv")" -eq 3 ] || flunk "expected one row per run"
	if command -v gnuplot >/dev/null; then
		head -c 4 "$T/out/false-sharing-throughput.png" | od -An -c | grep -q 'P   N   G' ||
			flunk "not a PNG"
	fi
}

@test "false-sharing on one CPU says what is missing and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo false-sharing --quick
	expect_status 3
	expect_stderr_has "cannot show it" "2 CPUs"
}
