#!/usr/bin/env bats
# synclab demo: the lock and scheduling experiments (spin-vs-sleep, convoy,
# writer-starvation, idle-wins, rcu-vs-rwlock, amdahl, lost-wakeup, wake-storm) in short
# mode --
# their measured figures, their files, and the plain "cannot show it here"
# answer on one CPU.

load helpers

# files_ok STEM ROWS: the demo's table CSV with HEADER-prefix $3 and ROWS
# data rows, its gnuplot script and data, and the PNG where gnuplot runs.
files_ok() {
	local csv="$T/out/$1.csv"
	[ -s "$csv" ] || flunk "no table CSV $csv"
	[ "$(csv_check "$csv")" -eq "$2" ] || flunk "$csv: expected $2 rows: $(cat "$csv")"
	head -1 "$csv" | grep -qF "$3" || flunk "$csv header: $(head -1 "$csv")"
	[ -s "$T/out/$1.gp" ] || flunk "no gnuplot script"
	[ -s "$T/out/$1.dat" ] || flunk "no chart data"
	if command -v gnuplot >/dev/null; then
		head -c 4 "$T/out/$1.png" | od -An -c | grep -q 'P   N   G' || flunk "$1.png is not a PNG"
	fi
}

# runs_ok DEMO ROWS: synclab's standard CSV of every run.
runs_ok() {
	local csv="$T/out/$1-runs.csv"
	[ "$(csv_check "$csv")" -eq "$2" ] || flunk "$csv: expected $2 runs"
	csv_each "$csv" 'r["status"] == "ok"'
}

@test "the list names every lock and scheduling experiment" {
	run --separate-stderr "$SYNCLAB" demo
	expect_status 0
	expect_stdout_has spin-vs-sleep convoy writer-starvation idle-wins rcu-vs-rwlock amdahl \
		lost-wakeup wake-storm
}

@test "spin-vs-sleep --quick: both locks at both loads, CPU burned and a crossover verdict" {
	run --separate-stderr "$SYNCLAB" demo spin-vs-sleep --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "spin-ttas, 2 thr" "mutex, 8 thr" "throughput (ops/s)" \
		"CPU busy (CPUs)" "ctx switches (/op)" "(oversubscribed)"
	[[ "$output" =~ (Crossover\ here:\ between\ a\ [0-9]+[nu]s|No\ crossover\ in\ this\ range|lead\ changed) ]] ||
		{ show_run; flunk "no crossover verdict"; }
	[[ "$output" =~ spinning\ burned\ [0-9.]+\ us ]] || { show_run; flunk "no CPU-per-op figure"; }
	files_ok spin-vs-sleep-throughput 8 "lock,threads,cs_ns,throughput_ops/s"
	# Busy CPUs stay near or under the PUs: each thread's CPU time runs from
	# when it saw the window open to when it saw it close, which in a 50 ms
	# window can overrun the window a little, never by half.
	local pus
	pus=$(nproc)
	csv_each "$T/out/spin-vs-sleep-throughput.csv" \
		"0 < num(r['CPU busy_CPUs']) <= 1.5 * $pus and num(r['ctx switches_/op']) >= 0"
	runs_ok spin-vs-sleep 8
}

@test "convoy --quick: FIFO and barging locks, hand-off latency from the samples" {
	run --separate-stderr "$SYNCLAB" demo convoy --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "mutex (barging), 2 thr" "mutex-fair (FIFO, sleeps), 8 thr" "spin-ticket (FIFO, spins), 8 thr" \
		"hand-off p50 (ns)" "acquire p99 (ns)" "fairness"
	[[ "$output" =~ (A\ convoy\ formed|No\ convoy\ showed) ]] || { show_run; flunk "no verdict"; }
	files_ok convoy-throughput 6 "lock,threads,throughput_ops/s"
	runs_ok convoy 6
	csv_each "$T/out/convoy-runs.csv" 'r["latency_period"] == "16"'
	# Somewhere a sampled acquire waited for a hand-off.
	csv_col "$T/out/convoy-runs.csv" handoff_samples | awk '$1 > 0 { n++ } END { exit !n }' ||
		flunk "no hand-off sampled in any run"
}

@test "writer-starvation --quick: the writer thread's share and longest wait" {
	run --separate-stderr "$SYNCLAB" demo writer-starvation --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "rwlock-rpref (reader-preferring)" "rwlock (writer-preferring)" \
		"pthread-rwlock-wpref (glibc writer-preferring)" "its writer-preferring kind" "writer share (%)" "max writer wait (ms)" "max reader wait (ms)" "fairness"
	[[ "$output" =~ (Writer\ starvation:|No\ starvation\ showed) ]] || { show_run; flunk "no verdict"; }
	files_ok writer-starvation-writer-share 4 "rwlock (policy),threads,writer share_%"
	csv_each "$T/out/writer-starvation-writer-share.csv" \
		'0 <= num(r["writer share_%"]) <= 100 and num(r["max writer wait_ms"]) > 0'
	runs_ok writer-starvation 4
	csv_each "$T/out/writer-starvation-runs.csv" 'r["writers"] == "1" and num(r["lat_samples"]) > 0'
}

@test "idle-wins --quick: three rwlocks by load, PUs busy, thread shares and a verdict from the figures" {
	run --separate-stderr "$SYNCLAB" demo idle-wins --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "pthread-rwlock (reader-preferring)" "pthread-rwlock-wpref (writer-preferring)" \
		"rwlock (spins, then sleeps)" "throughput (ops/s)" "PUs busy (%)" "slowest thread (% of equal)"
	[[ "$output" =~ (Idling\ won:|Idling\ did\ not\ win\ here:) ]] || { show_run; flunk "no verdict"; }
	[[ "$output" =~ With\ 200\ ns\ of\ work\ between\ operations ]] || { show_run; flunk "no with-work comparison"; }
	local pus
	pus=$(nproc)
	files_ok idle-wins-throughput 9 "rwlock,threads,throughput_ops/s,PUs busy_%"
	# 1 thread, one per PU, twice as many, for each lock; busy shares are
	# shares, and alone a thread has all of the operations.
	csv_each "$T/out/idle-wins-throughput.csv" \
		"r['threads'] in ('1', '$pus', '$((2 * pus))') and 0 < num(r['PUs busy_%']) <= 150"
	csv_each "$T/out/idle-wins-throughput.csv" \
		"num(r['slowest thread_% of equal']) <= 100.5 <= num(r['fastest thread_% of equal']) + 1"
	csv_each "$T/out/idle-wins-throughput.csv" \
		"r['threads'] != '1' or 99 <= num(r['slowest thread_% of equal']) <= 101"
	runs_ok idle-wins 11
	csv_each "$T/out/idle-wins-runs.csv" 'r["read_pct"] == "90"'
}

@test "rcu-vs-rwlock --quick: every flavour at every update share, best of each compared" {
	run --separate-stderr "$SYNCLAB" demo rcu-vs-rwlock --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "rcu-qsbr" "rwlock" "pthread-rwlock" "updates (%)" "throughput (ops/s)"
	[[ "$output" =~ \ 0%\ updates:\ best\ RCU\ [a-z-]+\ [0-9.]+[kMG]?\ ops/s ]] ||
		{ show_run; flunk "no read-only comparison"; }
	local rows
	rows=$(csv_check "$T/out/rcu-vs-rwlock-throughput.csv")
	[ "$rows" -ge 12 ] && [ $((rows % 3)) -eq 0 ] || flunk "expected 3 update shares per primitive, got $rows rows"
	csv_each "$T/out/rcu-vs-rwlock-throughput.csv" 'r["updates_%"] in ("0", "10", "50") and num(r["throughput_ops/s"]) > 0'
	runs_ok rcu-vs-rwlock "$rows"
}

@test "amdahl --quick: speedups against the 1-thread baseline and the bound drawn" {
	run --separate-stderr "$SYNCLAB" demo amdahl --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "f = 1%" "f = 50%" "speedup (x)" "Amdahl bound (x)"
	files_ok amdahl-throughput 6 "serial fraction,serial_%,threads,throughput_ops/s"
	# The bound is Amdahl's 1/(f + (1-f)/n) for the fraction set.
	csv_each "$T/out/amdahl-throughput.csv" \
		'abs(num(r["Amdahl bound_x"]) - 1 / (num(r["serial_%"]) / 100 + (1 - num(r["serial_%"]) / 100) / num(r["threads"]))) < 0.01'
	csv_each "$T/out/amdahl-throughput.csv" 'r["threads"] != "1" or r["speedup_x"] == "1"'
	grep -q 'Amdahl bound' "$T/out/amdahl-throughput.gp" || flunk "no bound in the chart"
	runs_ok amdahl 6
}

@test "lost-wakeup --quick: the naive hand-off is counted, the futex one loses none" {
	run --separate-stderr "$SYNCLAB" demo lost-wakeup --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "naive: check, then sleep" "futex: kernel re-checks" \
		"lost wake-ups (count)" "hand-offs (rounds/s)" "lost none in"
	files_ok lost-wakeup-lost 3 "sleep/wakeup,gap_ns,hand-offs_rounds/s,lost wake-ups_count"
	csv_each "$T/out/lost-wakeup-lost.csv" \
		'not r["sleep/wakeup"].startswith("futex") or r["lost wake-ups_count"] == "0"'
	runs_ok lost-wakeup 3
}

@test "wake-storm --quick: both semaphores at both loads, calls against sleeps from their own counts" {
	run --separate-stderr "$SYNCLAB" demo wake-storm --quick --out "$T/out"
	expect_status 0
	expect_stdout_has "sem-unrationed, $(nproc) thr" "sem, $((8 * $(nproc))) thr" \
		"sleeps (/s)" "wake calls (/s)" "calls per sleep" "ctx switches (/op)"
	[[ "$output" =~ (Unrationed,\ [0-9]+\ threads\ on\ [0-9]+\ PUs\ made|No\ storm\ here) ]] ||
		{ show_run; flunk "no verdict"; }
	files_ok wake-storm-calls 4 "semaphore,threads,throughput_ops/s,sleeps_/s,wake calls_/s"
	# The table's figures are the primitives' own counts from the runs.
	runs_ok wake-storm 4
	csv_each "$T/out/wake-storm-runs.csv" \
		're.fullmatch(r"sleeps=\d+;wakes=\d+", r["prim_events"]) and r["permits"] == "1"'
	# Oversubscribed, the unrationed semaphore calls at least once per sleep.
	csv_each "$T/out/wake-storm-calls.csv" \
		'not r["semaphore"].startswith("sem-unrationed") or r["threads"] == "'"$(nproc)"'" or num(r["wake calls_/s"]) >= num(r["sleeps_/s"])'
}

@test "each of these experiments on one CPU says what is missing and exits 3" {
	command -v taskset >/dev/null || skip "no taskset"
	local d
	for d in spin-vs-sleep convoy writer-starvation idle-wins rcu-vs-rwlock amdahl lost-wakeup wake-storm; do
		run --separate-stderr taskset -c 0 "$SYNCLAB" demo "$d" --quick
		expect_status 3
		expect_stderr_has "synclab demo $d: this machine cannot show it" "at least 2 CPUs"
	done
}
