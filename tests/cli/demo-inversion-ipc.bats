#!/usr/bin/env bats
# synclab demo priority-inversion and ipc-latency in short mode: their
# measured figures, their files, what each shows, the plain "cannot show it
# here" answers (no real-time permission, one CPU, no message queues) and
# that an interrupted IPC run leaves no process or name behind.

load helpers

# Run synclab without CAP_SYS_NICE and with RLIMIT_RTPRIO 0; fails (status
# 99) when this test environment cannot take the capability away.
run_without_rt() {
	if [ "$(id -u)" -eq 0 ]; then
		command -v capsh >/dev/null || return 99
		run --separate-stderr capsh --drop=cap_sys_nice -- -c 'ulimit -r 0; exec "$0" "$@"' "$SYNCLAB" "$@"
	else
		run --separate-stderr bash -c 'ulimit -r 0; exec "$0" "$@"' "$SYNCLAB" "$@"
	fi
}

# Field $2 (2 = the first after the label) of the row of CSV file $1 whose
# quoted label, which may hold commas, is $3.
csv_field() {
	local line
	line=$(grep -F "\"$3\"," "$1" | head -1)
	[ -n "$line" ] || return 0
	line=${line#"\"$3\","}
	printf '%s\n' "$line" | cut -d, -f$(($2 - 1))
}

@test "priority-inversion --quick: a PI mutex cuts the high-priority wait" {
	run --separate-stderr "$SYNCLAB" demo priority-inversion --quick --out "$T/out"
	if [ "$status" -eq 3 ] && [[ "$stderr" == *"not permitted"* ]]; then
		skip "no real-time scheduling here: $stderr"
	fi
	expect_status 0
	expect_stdout_has "high wait p50 (us)" "inverted rounds (%)" "sched_rt_runtime_us" \
		"mutex-pi" "pthread-pi" "FUTEX_LOCK_PI"
	[[ "$output" =~ [0-9.]+x\ the\ [0-9.]+\ us ]] || { show_run; flunk "no measured ratio"; }
	csv="$T/out/priority-inversion-wait.csv"
	[ -s "$csv" ] || flunk "no table CSV"
	head -1 "$csv" | grep -q '^configuration,medium burst_ms,high wait p50_us,p99_us,max_us' ||
		flunk "table CSV header: $(head -1 "$csv")"
	[ "$(wc -l < "$csv")" -eq 4 ] || flunk "expected 3 rows"
	plain=$(csv_field "$csv" 3 "mutex, 2 ms burst")
	pi=$(csv_field "$csv" 3 "mutex-pi, 2 ms burst")
	inv_plain=$(csv_field "$csv" 6 "mutex, 2 ms burst")
	inv_pi=$(csv_field "$csv" 6 "mutex-pi, 2 ms burst")
	# On one CPU under SCHED_FIFO the plain holder is preempted for the
	# whole 2 ms burst; the boosted PI holder is not.
	awk -v a="$plain" -v b="$pi" 'BEGIN { exit !(a > 1.5 * b && b > 400) }' ||
		{ show_run; flunk "plain wait $plain us is not well above the PI wait $pi us"; }
	awk -v a="$inv_plain" -v b="$inv_pi" 'BEGIN { exit !(a >= 50 && b < 10) }' ||
		{ show_run; flunk "inverted rounds: plain $inv_plain %, PI $inv_pi %"; }
	[ -s "$T/out/priority-inversion-wait.gp" ] || flunk "no gnuplot script"
	[ "$(wc -l < "$T/out/priority-inversion-runs.csv")" -eq 4 ] || flunk "expected one row per run"
	if command -v gnuplot >/dev/null; then
		head -c 4 "$T/out/priority-inversion-wait.png" | od -An -c | grep -q 'P   N   G' ||
			flunk "not a PNG"
	fi
}

@test "priority-inversion without real-time permission says what is missing and exits 3" {
	run_without_rt demo priority-inversion --quick
	[ "$status" -ne 99 ] || skip "cannot drop CAP_SYS_NICE here"
	expect_status 3
	expect_stderr_has "cannot show it" "CAP_SYS_NICE" "RLIMIT_RTPRIO"
	expect_stdout_has "nothing was run"
	[[ "$output" != *"high wait p50"* ]] || flunk "printed a table without real-time threads"
}

@test "priority-inversion on one CPU says it needs 2 and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo priority-inversion --quick
	expect_status 3
	expect_stderr_has "cannot show it" "2 CPUs"
}

@test "ipc-latency --quick times every mechanism on the same and another CPU" {
	mkdir "$T/tmp"
	TMPDIR="$T/tmp" run --separate-stderr "$SYNCLAB" demo ipc-latency --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "round trip p50 (us)" "rate (round trips/s)" "us per round trip"
	tab="$T/out/ipc-latency-table.csv"
	head -1 "$tab" | grep -q '^configuration,round trip p50_us,p99_us,rate_round trips/s$' ||
		flunk "table CSV header: $(head -1 "$tab")"
	# Every mechanism but the message queue (a kernel option) must run.
	for m in pipe fifo unix-socket shm+futex signal; do
		for p in "same CPU" "other CPU"; do
			v=$(csv_field "$tab" 2 "$m, $p")
			[[ "$v" =~ ^[0-9.]+$ ]] || { show_run; flunk "no round trip for '$m, $p': '$v'"; }
		done
	done
	[ "$(wc -l < "$tab")" -eq 13 ] || flunk "expected 12 rows"
	# A round trip is two messages and two wake-ups: microseconds, and
	# the rate agrees with it to within the spread of the samples.
	p50=$(csv_field "$tab" 2 "pipe, same CPU")
	rate=$(csv_field "$tab" 4 "pipe, same CPU")
	awk -v l="$p50" -v r="$rate" 'BEGIN { exit !(l > 0.5 && l < 5000 && r * l > 5e4 && r * l < 3e6) }' ||
		flunk "pipe: p50 $p50 us with $rate round trips/s"
	head -1 "$T/out/ipc-latency-round-trip.csv" | grep -q '^mechanism,same CPU p50_us,other CPU p50_us$' ||
		flunk "chart CSV header: $(head -1 "$T/out/ipc-latency-round-trip.csv")"
	[ -s "$T/out/ipc-latency-round-trip.gp" ] || flunk "no gnuplot script"
	if command -v gnuplot >/dev/null; then
		head -c 4 "$T/out/ipc-latency-round-trip.png" | od -An -c | grep -q 'P   N   G' ||
			flunk "not a PNG"
	fi
	[ -z "$(ls -A "$T/tmp")" ] || flunk "left behind: $(ls -A "$T/tmp")"
}

@test "ipc-latency marks message queues n/s when mq_open fails and still runs the rest" {
	run --separate-stderr bash -c 'ulimit -q 0; exec "$0" demo ipc-latency --quick' "$SYNCLAB"
	expect_status 0
	expect_stdout_has "mqueue, same CPU: n/s" "mq_open"
	[[ "$output" =~ mqueue,\ same\ CPU\ +n/s\ +n/s\ +n/s ]] || { show_run; flunk "mqueue row not n/s"; }
	[[ "$output" =~ pipe,\ same\ CPU\ +[0-9.]+ ]] || { show_run; flunk "no pipe figures"; }
}

@test "ipc-latency on one CPU measures the same-CPU half and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	run --separate-stderr taskset -c 0 "$SYNCLAB" demo ipc-latency --quick
	expect_status 3
	expect_stdout_has "pipe, same CPU" "skipped"
	expect_stderr_has "cannot show it" "2 CPUs"
}

@test "an interrupted ipc-latency exits 130 and leaves no echo process or FIFO" {
	command -v setsid >/dev/null || skip "no setsid"
	mkdir "$T/tmp"
	TMPDIR="$T/tmp" setsid "$SYNCLAB" demo ipc-latency --duration 200ms --out "$T/out" \
		> "$T/log" 2>&1 &
	pid=$!
	sleep 0.7
	# The echo process lives in the same session as synclab.
	[ -n "$(ps -o pid= -s "$pid" | grep -v "^ *$pid\$")" ] || flunk "no echo process seen"
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 130 ] || { cat "$T/log" >&2; flunk "exit status $status"; }
	sleep 0.2
	[ -z "$(ps -o pid= -s "$pid")" ] || flunk "left running: $(ps -o pid,cmd -s "$pid")"
	[ -z "$(ls -A "$T/tmp")" ] || flunk "left behind: $(ls -A "$T/tmp")"
	grep -q "interrupted" "$T/log" || flunk "no interrupted message"
	[ "$(wc -l < "$T/out/ipc-latency-runs.csv")" -ge 2 ] || flunk "completed runs not kept"
}
