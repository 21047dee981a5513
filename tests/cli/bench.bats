# synclab bench: CSV shape and contents, table and streams, oversubscription, charts, checks, pinning, interrupts.

load helpers

# One sweep of 2 primitives x 2 thread counts x 2 repetitions, shared by the
# tests that only read its CSV.
setup_file() {
	local d="$BATS_FILE_TMPDIR"
	rc=0
	"$SYNCLAB" bench mutex,pthread-mutex --threads 1,2 --repeat 2 \
		--duration 50ms --warmup 10ms --csv "$d/r.csv" --quiet \
		>"$d/r.out" 2>"$d/r.err" || rc=$?
	echo "$rc" >"$d/r.rc"
}

sweep() {
	R="$BATS_FILE_TMPDIR/r.csv"
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/r.rc")
	if [ "$rc" -ne 0 ]; then
		cat "$BATS_FILE_TMPDIR/r.err" >&2
		flunk "the shared sweep exited $rc"
	fi
	[ -f "$R" ] || flunk "the shared sweep wrote no CSV"
}

@test "a successful sweep exits 0 and --quiet keeps stderr empty" {
	sweep
	[ ! -s "$BATS_FILE_TMPDIR/r.err" ] || flunk "stderr: $(cat "$BATS_FILE_TMPDIR/r.err")"
}

@test "the CSV header is exactly the columns of synclab list columns, in order" {
	sweep
	local want got
	want=$(list_columns | paste -sd, -)
	got=$(head -n 1 "$R")
	[ -n "$want" ] || flunk "synclab list columns listed nothing"
	[ "$got" = "$want" ] || flunk "header:   $got" "expected: $want"
}

@test "the CSV header has every column a sweep needs to be reproduced and read" {
	sweep
	local header c
	header=",$(head -n 1 "$R"),"
	for c in primitive threads rep status duration_s ops ops_per_sec ns_per_op \
		fairness min_thread_ops max_thread_ops pin cpus oversubscribed cs_ns \
		think_ns cs_lines locks warmup_s cycles_per_op instructions_per_op \
		cache_misses_per_op context_switches_per_op cpu_migrations host \
		cpu_model kernel synclab_version message; do
		[[ "$header" == *",$c,"* ]] || flunk "no column $c in $header"
	done
}

@test "the sweep writes one whole row per primitive, thread count and repetition" {
	sweep
	local n
	n=$(csv_check "$R") || flunk "bad CSV"
	[ "$n" -eq 8 ] || flunk "$n data rows, expected 8"
	run python3 - "$R" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
got = sorted((r["primitive"], r["threads"], r["rep"]) for r in rows)
want = sorted((p, t, k) for p in ("mutex", "pthread-mutex") for t in ("1", "2") for k in ("1", "2"))
if got != want:
    sys.exit(f"points {got} != {want}")
EOF
	expect_status 0
}

@test "every row of a good sweep has status ok, no message and a positive throughput" {
	sweep
	csv_each "$R" 'r["status"] == "ok" and r["message"] == ""'
	csv_each "$R" 'num(r["ops_per_sec"]) > 0 and num(r["ops"]) > 0'
}

@test "the measured figures agree with each other" {
	sweep
	# The window is the one asked for, give or take scheduling.
	csv_each "$R" '0.045 <= num(r["duration_s"]) <= 1.0'
	csv_each "$R" 'abs(num(r["warmup_s"]) - 0.01) < 1e-9'
	# ops_per_sec = ops / duration_s; ns_per_op = duration * threads / ops.
	csv_each "$R" 'abs(num(r["ops_per_sec"]) * num(r["duration_s"]) / num(r["ops"]) - 1) < 0.01'
	csv_each "$R" 'abs(num(r["ns_per_op"]) * num(r["ops"]) / (num(r["duration_s"]) * 1e9 * int(r["threads"])) - 1) < 0.01'
	# Jain's index lies in [1/threads, 1].
	csv_each "$R" '1 / int(r["threads"]) - 1e-9 <= num(r["fairness"]) <= 1 + 1e-9'
	csv_each "$R" 'int(r["threads"]) > 1 or abs(num(r["fairness"]) - 1) < 1e-9'
	# Per-thread extremes bracket the mean share.
	csv_each "$R" 'int(r["min_thread_ops"]) <= int(r["max_thread_ops"])'
	csv_each "$R" 'int(r["min_thread_ops"]) * int(r["threads"]) <= int(r["ops"]) <= int(r["max_thread_ops"]) * int(r["threads"])'
}

@test "each row carries its parameters and placement" {
	sweep
	csv_each "$R" 'r["pin"] == "compact"'
	csv_each "$R" 'r["cs_ns"] == "0" and r["think_ns"] == "0" and r["cs_lines"] == "0" and r["locks"] == "1"'
	csv_each "$R" 'len(r["cpus"].split(";")) == int(r["threads"])'
	csv_each "$R" 'all(c.isdigit() for c in r["cpus"].split(";"))'
	csv_each "$R" 'r["oversubscribed"] in ("0", "1")'
	csv_each "$R" 'num(r["work_loops_per_us"]) > 0'
	csv_each "$R" 'int(r["vol_ctx_switches"]) >= 0 and int(r["invol_ctx_switches"]) >= 0'
}

@test "each row names the machine and the synclab version that produced it" {
	sweep
	local v host kernel
	v=$("$SYNCLAB" --version | awk '{ print $2 }')
	host=$(uname -n)
	kernel=$(uname -r)
	csv_each "$R" "r['synclab_version'] == '$v'"
	csv_each "$R" "r['host'] == '$host'"
	csv_each "$R" "r['kernel'] == '$kernel'"
	csv_each "$R" 'r["cpu_model"] != ""'
}

@test "a counter this machine cannot count is empty in the CSV, never 0, and a countable one is a number" {
	sweep
	local ev col sup
	for ev in cycles instructions cache-misses context-switches cpu-migrations; do
		case $ev in
		cycles) col=cycles_per_op ;;
		instructions) col=instructions_per_op ;;
		cache-misses) col=cache_misses_per_op ;;
		context-switches) col=context_switches_per_op ;;
		cpu-migrations) col=cpu_migrations ;;
		esac
		sup=$(counter_supported "$ev")
		case $sup in
		yes) csv_each "$R" "isnum(r['$col']) and num(r['$col']) >= 0" ||
			flunk "$ev is supported but $col is not a number" ;;
		no) csv_each "$R" "r['$col'] == ''" ||
			flunk "$ev is not supported but $col is not empty" ;;
		*) flunk "synclab list counters does not list $ev" ;;
		esac
	done
}

@test "context switches are counted here, where software events work" {
	sweep
	[ "$(counter_supported context-switches)" = yes ] ||
		skip "context-switches is not supported on this machine"
	csv_each "$R" 'isnum(r["context_switches_per_op"])'
}

@test "without --csv the table goes to stdout and the banner and progress to stderr" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --duration 50ms --warmup 10ms
	expect_status 0
	grep -Eq '^primitive +threads +reps +ops/s' <<<"$output" || { show_run; flunk "no table header on stdout"; }
	grep -Eq '^mutex +1 +1 ' <<<"$output" || { show_run; flunk "no table line for mutex on stdout"; }
	expect_stderr_has "synclab " "usable PUs" "calibration"
	! grep -Eq '^primitive +threads' <<<"$stderr" || { show_run; flunk "table on stderr"; }
}

@test "--quiet prints only the table" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --duration 50ms --warmup 10ms --quiet
	expect_status 0
	expect_stderr_empty
	grep -Eq '^primitive +threads +reps +ops/s' <<<"$output" || { show_run; flunk "no table on stdout"; }
}

@test "--csv - writes the CSV on stdout, header first, and the table on stderr" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --duration 50ms --warmup 10ms --csv -
	expect_status 0
	printf '%s\n' "$output" >"$T/stdout.csv"
	[ "$(head -n 1 "$T/stdout.csv")" = "$(list_columns | paste -sd, -)" ] ||
		{ show_run; flunk "stdout does not start with the CSV header"; }
	local n
	n=$(csv_check "$T/stdout.csv") || { show_run; flunk "stdout is not clean CSV"; }
	[ "$n" -eq 1 ] || flunk "$n rows on stdout, expected 1"
	csv_each "$T/stdout.csv" 'r["status"] == "ok" and r["primitive"] == "mutex"'
	grep -Eq '^primitive +threads +reps +ops/s' <<<"$stderr" || { show_run; flunk "no table on stderr"; }
}

@test "--csv - with --quiet leaves stdout pure CSV" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1,2 --duration 50ms --warmup 10ms --csv - --quiet
	expect_status 0
	printf '%s\n' "$output" >"$T/stdout.csv"
	local n
	n=$(csv_check "$T/stdout.csv") || { show_run; flunk "stdout is not clean CSV"; }
	[ "$n" -eq 2 ] || flunk "$n rows on stdout, expected 2"
}

@test "prim_events holds mutex's own counts as name=count pairs and is empty for a primitive that counts none" {
	sweep
	csv_each "$R" 're.fullmatch(r"sleeps=[0-9]+;wakes=[0-9]+", r["prim_events"]) if r["primitive"] == "mutex" else r["prim_events"] == ""'
	# A lone thread never waits.
	csv_each "$R" 'r["prim_events"] == "sleeps=0;wakes=0" if r["primitive"] == "mutex" and r["threads"] == "1" else True'
}

@test "a lock whose waiters sleep in the kernel is listed under idle PUs with its busy share" {
	# mutex-pi hands the lock to a sleeping waiter: mostly one thread runs.
	# (Which lines stay off the list is the unit test's: here other
	# programs may take the PUs.)
	run --separate-stderr "$SYNCLAB" bench mutex-pi --threads 4 --duration 100ms --warmup 20ms --counters none
	expect_status 0
	grep -Eq '^idle PUs: ' <<<"$output" || { show_run; flunk "no idle PUs note"; }
	grep -Eq '^  mutex-pi at 4 threads: [0-9]+ PUs?, [0-9]+% busy$' <<<"$output" || { show_run; flunk "mutex-pi not listed"; }
}

@test "16 mutex threads on this machine finish promptly and are reported oversubscribed" {
	local t0 t1 pus
	pus=$(nproc)
	[ "$pus" -lt 16 ] || skip "this machine has $pus usable PUs: 16 threads are not oversubscribed"
	t0=$(now_ms)
	run --separate-stderr "$SYNCLAB" bench mutex --threads 16 --duration 300ms --warmup 50ms --csv "$T/o.csv"
	t1=$(now_ms)
	expect_status 0
	[ $((t1 - t0)) -lt 10000 ] || flunk "took $((t1 - t0)) ms for a 300 ms window"
	[[ "$output$stderr" == *oversubscribed* ]] || { show_run; flunk "output does not mention oversubscribed"; }
	csv_each "$T/o.csv" 'r["status"] == "ok" and r["threads"] == "16" and r["oversubscribed"] == "1"'
	csv_each "$T/o.csv" 'len(r["cpus"].split(";")) == 16'
	csv_each "$T/o.csv" 'num(r["ops_per_sec"]) > 0 and int(r["min_thread_ops"]) >= 0'
}

@test "the placement line names 16 threads' PUs, counts the rest and keeps the PUs they share" {
	local pus line named
	pus=$(nproc)
	run --separate-stderr "$SYNCLAB" bench null --threads 40 --duration 20ms --warmup 5ms --counters none
	expect_status 0
	line=$(grep '^placement: ' <<<"$stderr")
	[[ "$line" == "placement: 40 thread(s), --pin compact: PUs "*",... (24 more)"* ]] || flunk "placement line: $line"
	named=${line#*PUs }
	named=${named%%,...*}
	[ "$(tr , '\n' <<<"$named" | wc -l)" -eq 16 ] || flunk "not 16 PUs named: $line"
	if [ "$pus" -lt 40 ]; then
		[[ "$line" == *"(oversubscribed: the threads share PUs "*")" ]] || flunk "placement line: $line"
	fi
}

@test "--plot writes throughput.png, its gnuplot script and its data" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	run --separate-stderr "$SYNCLAB" bench mutex --threads 16 --duration 300ms --warmup 50ms --plot "$T/plot"
	expect_status 0
	[ -s "$T/plot/throughput.png" ] || { show_run; flunk "no throughput.png"; }
	[ -s "$T/plot/throughput.gp" ] || flunk "no throughput.gp"
	[ -s "$T/plot/throughput.dat" ] || flunk "no throughput.dat"
	local sig
	sig=$(head -c 8 "$T/plot/throughput.png" | od -An -tx1 | tr -d ' \n')
	[ "$sig" = "89504e470d0a1a0a" ] || flunk "throughput.png is not a PNG (starts with $sig)"
	grep -q 'throughput.dat' "$T/plot/throughput.gp" || flunk "the script does not read throughput.dat"
	grep -Eq '^[[:space:]]*16[[:space:]]+[0-9.eE+]+' "$T/plot/throughput.dat" ||
		flunk "no point for 16 threads in throughput.dat: $(cat "$T/plot/throughput.dat")"
	expect_stderr_has "chart:" "throughput.png"
}

@test "--plot creates a chart directory that does not exist yet inside an existing one" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1,2 --duration 50ms --warmup 10ms --quiet --plot "$T/charts"
	expect_status 0
	[ -s "$T/charts/throughput.png" ] || { show_run; flunk "no chart in a new directory"; }
}

@test "--plot without gnuplot keeps the script and data and says how to render them" {
	mkdir "$T/emptybin"
	run --separate-stderr env PATH="$T/emptybin" "$SYNCLAB" bench mutex --threads 1 --duration 50ms --warmup 10ms --quiet --plot "$T/plot"
	expect_status 0
	[ -s "$T/plot/throughput.gp" ] || { show_run; flunk "no throughput.gp"; }
	[ -s "$T/plot/throughput.dat" ] || flunk "no throughput.dat"
	[ ! -e "$T/plot/throughput.png" ] || flunk "a PNG appeared without gnuplot"
	expect_stderr_has "gnuplot"
}

@test "a broken lock fails its check: exit 1, named on stderr, and no throughput in the CSV" {
	require_pu 1
	run --separate-stderr "$SYNCLAB" bench broken-lock --threads 2 --pin 0,1 --cs-ns 100 --duration 300ms --warmup 10ms --csv "$T/b.csv"
	expect_status 1
	expect_stderr_has "mutual exclusion violated"
	local n
	n=$(csv_check "$T/b.csv") || flunk "bad CSV"
	[ "$n" -eq 1 ] || flunk "$n rows, expected 1"
	csv_each "$T/b.csv" 'r["primitive"] == "broken-lock" and r["threads"] == "2" and r["pin"] == "0,1"'
	csv_each "$T/b.csv" 'r["status"] == "check-failed" and r["message"] != ""'
	csv_each "$T/b.csv" 'r["ops_per_sec"] == ""'
	csv_each "$T/b.csv" 'r["ops"] == "" and r["ns_per_op"] == "" and r["fairness"] == ""'
	csv_each "$T/b.csv" 'r["min_thread_ops"] == "" and r["max_thread_ops"] == ""'
	grep -q 'check-failed' <<<"$output" || { show_run; flunk "the table does not show check-failed"; }
}

@test "a broken lock fails every repetition when its threads run on two PUs" {
	require_pu 1
	run --separate-stderr "$SYNCLAB" bench broken-lock --threads 2 --pin 0,1 --cs-ns 100 --repeat 3 --duration 200ms --warmup 10ms --quiet --csv "$T/b.csv"
	expect_status 1
	local n
	n=$(csv_check "$T/b.csv") || flunk "bad CSV"
	[ "$n" -eq 3 ] || flunk "$n rows, expected 3"
	csv_each "$T/b.csv" 'r["status"] == "check-failed" and r["ops_per_sec"] == ""'
}

@test "a broken lock gets no line in the chart" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	require_pu 1
	run --separate-stderr "$SYNCLAB" bench mutex,broken-lock --threads 2 --pin 0,1 --cs-ns 100 --duration 200ms --warmup 10ms --quiet --plot "$T/plot"
	expect_status 1
	[ -s "$T/plot/throughput.dat" ] || { show_run; flunk "no throughput.dat"; }
	! grep -q 'broken-lock' "$T/plot/throughput.dat" "$T/plot/throughput.gp" ||
		flunk "broken-lock appears in the chart"
	grep -q 'mutex' "$T/plot/throughput.dat" "$T/plot/throughput.gp" || flunk "mutex is missing from the chart"
}

@test "under taskset -c 1 both threads run on PU 1, oversubscribed" {
	command -v taskset >/dev/null || skip "taskset is not installed"
	taskset -c 1 true 2>/dev/null || skip "PU 1 is not available"
	run --separate-stderr taskset -c 1 "$SYNCLAB" bench mutex --threads 2 --duration 50ms --warmup 10ms --csv "$T/t.csv"
	expect_status 0
	csv_each "$T/t.csv" 'r["status"] == "ok"'
	csv_each "$T/t.csv" 'r["cpus"] == "1;1"'
	csv_each "$T/t.csv" 'r["oversubscribed"] == "1"'
}

@test "under taskset -c 1 a --pin list naming PU 0 is refused" {
	command -v taskset >/dev/null || skip "taskset is not installed"
	taskset -c 1 true 2>/dev/null || skip "PU 1 is not available"
	run --separate-stderr taskset -c 1 "$SYNCLAB" bench mutex --threads 1 --pin 0 --duration 50ms --warmup 10ms --csv "$T/t.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'0'" "usable"
	[ ! -e "$T/t.csv" ] || flunk "t.csv was written"
}

@test "--pin 0 puts both threads on PU 0" {
	require_pu 0
	run --separate-stderr "$SYNCLAB" bench mutex --threads 2 --pin 0 --duration 50ms --warmup 10ms --csv "$T/p.csv" --quiet
	expect_status 0
	csv_each "$T/p.csv" 'r["status"] == "ok" and r["pin"] == "0"'
	csv_each "$T/p.csv" 'r["cpus"] == "0;0"'
	csv_each "$T/p.csv" 'r["oversubscribed"] == "1"'
}

@test "--pin compact with 2 threads on a 2-PU machine uses PUs 0 and 1" {
	require_two_pus
	run --separate-stderr "$SYNCLAB" bench mutex --threads 2 --pin compact --duration 50ms --warmup 10ms --csv "$T/c.csv" --quiet
	expect_status 0
	csv_each "$T/c.csv" 'r["status"] == "ok" and r["pin"] == "compact"'
	csv_each "$T/c.csv" 'r["cpus"] == "0;1"'
	csv_each "$T/c.csv" 'r["oversubscribed"] == "0"'
}

@test "--pin 1,0 binds threads in the listed order" {
	require_two_pus
	run --separate-stderr "$SYNCLAB" bench mutex --threads 3 --pin 1,0 --duration 50ms --warmup 10ms --csv "$T/l.csv" --quiet
	expect_status 0
	csv_each "$T/l.csv" 'r["cpus"] == "1;0;1"'
	csv_each "$T/l.csv" 'r["oversubscribed"] == "1"'
}

@test "--pin none reports where each unbound thread last ran" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 2 --pin none --duration 50ms --warmup 10ms --csv "$T/n.csv" --quiet
	expect_status 0
	local allowed
	allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
	csv_each "$T/n.csv" 'r["status"] == "ok" and r["pin"] == "none"'
	csv_each "$T/n.csv" 'len(r["cpus"].split(";")) == 2 and all(c.isdigit() for c in r["cpus"].split(";"))'
	csv_each "$T/n.csv" "all(int(c) < $(nproc --all) for c in r['cpus'].split(';'))"
}

@test "--cs-ns, --think-ns, --cs-lines and --locks are recorded in every row" {
	run --separate-stderr "$SYNCLAB" bench spin --threads 2 --cs-ns 100 --think-ns 200 --cs-lines 2 --locks 4 --duration 50ms --warmup 10ms --csv "$T/w.csv" --quiet
	expect_status 0
	csv_each "$T/w.csv" 'r["status"] == "ok"'
	csv_each "$T/w.csv" 'r["cs_ns"] == "100" and r["think_ns"] == "200" and r["cs_lines"] == "2" and r["locks"] == "4"'
}

@test "--counters none leaves every counter column empty" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --counters none --duration 50ms --warmup 10ms --csv "$T/c.csv" --quiet
	expect_status 0
	csv_each "$T/c.csv" 'r["status"] == "ok"'
	csv_each "$T/c.csv" 'all(r[c] == "" for c in ("cycles_per_op", "instructions_per_op", "cache_misses_per_op", "context_switches_per_op", "cpu_migrations"))'
}

# interrupt_bench SIGNAL: start a long bench, send SIGNAL once it has kept a
# row and 1.2 s have passed, and wait for it.  Sets rc and waited_ms.
interrupt_bench() {
	local sig=$1 pid i t0
	"$SYNCLAB" bench mutex --threads 2 --duration 200ms --warmup 10ms --repeat 50 \
		--csv "$T/i.csv" --quiet >"$T/i.out" 2>"$T/i.err" &
	pid=$!
	sleep 1.2
	for i in $(seq 50); do
		[ "$(wc -l 2>/dev/null <"$T/i.csv" || echo 0)" -ge 2 ] && break
		sleep 0.2
	done
	kill "-$sig" "$pid"
	t0=$(now_ms)
	rc=0
	wait "$pid" || rc=$?
	waited_ms=$(($(now_ms) - t0))
}

@test "SIGINT stops a bench with exit status 130 and keeps every completed row whole" {
	interrupt_bench INT
	[ "$rc" -eq 130 ] || flunk "exit status $rc, expected 130" "stderr: $(cat "$T/i.err")"
	[ "$waited_ms" -lt 3000 ] || flunk "took $waited_ms ms to stop after SIGINT"
	[ "$(head -n 1 "$T/i.csv")" = "$(list_columns | paste -sd, -)" ] || flunk "i.csv has no header"
	local n kept
	n=$(csv_check "$T/i.csv") || flunk "i.csv is not whole CSV"
	[ "$n" -ge 1 ] || flunk "no completed row kept"
	[ "$n" -lt 50 ] || flunk "all 50 runs finished: the signal stopped nothing"
	csv_each "$T/i.csv" 'r["status"] == "ok"'
	grep -q 'interrupted' "$T/i.err" || flunk "stderr does not say interrupted: $(cat "$T/i.err")"
	kept=$(sed -n 's/.*interrupted; \([0-9]*\) completed.*/\1/p' "$T/i.err")
	[ "$kept" = "$n" ] || flunk "stderr says $kept run(s) kept, the CSV has $n"
}

@test "SIGTERM stops a bench with exit status 130 and keeps the CSV valid" {
	interrupt_bench TERM
	[ "$rc" -eq 130 ] || flunk "exit status $rc, expected 130" "stderr: $(cat "$T/i.err")"
	local n
	n=$(csv_check "$T/i.csv") || flunk "i.csv is not whole CSV"
	[ "$n" -ge 1 ] && [ "$n" -lt 50 ] || flunk "$n rows kept"
}

@test "--timeline writes FILE.timeline.csv beside --csv: a row per interval and thread" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 2 --duration 100ms --warmup 0ms \
		--timeline 20ms --counters none --csv "$T/t.csv"
	expect_status 0
	expect_stderr_has "timeline: $T/t.timeline.csv"
	f="$T/t.timeline.csv"
	[ -f "$f" ] || flunk "no $f"
	[ "$(head -1 "$f")" = "primitive,threads,pin,cs_ns,think_ns,cs_lines,locks,read_pct,writers,producers,consumers,capacity,permits,latency_period,warmup_s,rep,interval,end_s,thread,cpu,ops,ops_per_sec" ] ||
		flunk "header: $(head -1 "$f")"
	# 100 ms in 20 ms intervals, two threads: 10 rows.
	[ "$(csv_check "$f")" -eq 10 ] || flunk "expected 10 rows: $(cat "$f")"
	[ "$(csv_col "$f" thread | sort -u | paste -sd' ' -)" = "0 1" ] || flunk "threads: $(csv_col "$f" thread)"
	csv_each "$f" 'r["primitive"] == "mutex" and num(r["ops"]) >= 0 and 0 < num(r["end_s"]) < 0.2'
	# The interval counts add up to the run's ops (same window).
	python3 - "$f" "$T/t.csv" <<'PY' || flunk "interval ops do not add up to the run's ops"
import csv, sys
tl = sum(int(r["ops"]) for r in csv.DictReader(open(sys.argv[1])))
run = sum(int(r["ops"]) for r in csv.DictReader(open(sys.argv[2])))
sys.exit(0 if tl == run else f"timeline {tl} vs run {run}")
PY
}

@test "--timeline-csv FILE puts the timeline where asked, even without --csv" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --duration 50ms --warmup 0ms \
		--timeline 25ms --timeline-csv "$T/elsewhere/tl.csv" --counters none --quiet
	expect_status 0
	[ "$(csv_check "$T/elsewhere/tl.csv")" -eq 2 ] || flunk "expected 2 rows"
}

@test "timeline options that cannot work are one-line usage errors and nothing is written" {
	run --separate-stderr "$SYNCLAB" bench mutex --timeline 10ms
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--timeline: needs --csv FILE"
	run --separate-stderr "$SYNCLAB" bench mutex --timeline-csv "$T/x.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--timeline-csv: needs --timeline TIME"
	run --separate-stderr "$SYNCLAB" bench mutex --duration 50ms --timeline 100ms --csv "$T/y.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "longer than --duration"
	[ ! -e "$T/x.csv" ] && [ ! -e "$T/y.csv" ] && [ ! -e "$T/y.timeline.csv" ] || flunk "a file was written"
}

@test "--baseline adds a vs column: 1x on the baseline's lines, the median of the per-repetition ratios on the others" {
	run --separate-stderr "$SYNCLAB" bench null,spin-ttas --threads 1 --repeat 3 \
		--duration 30ms --warmup 10ms --counters none --baseline spin \
		--csv "$T/b.csv" --quiet
	expect_status 0
	grep -Eq '^primitive +threads +reps +ops/s +vs spin-ttas ' <<<"$output" || { show_run; flunk "no vs spin-ttas column"; }
	grep -Eq '^spin-ttas +1 +3 +[0-9.]+[kMG]? +1x ' <<<"$output" || { show_run; flunk "the baseline's line is not 1x"; }
	shown=$(awk '$1 == "null" && $2 == 1 { print $5 }' <<<"$output")
	# The same figure from the CSV: ratio per repetition, then the median.
	want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ r[$col["primitive"], $col["rep"]] = $col["ops_per_sec"] }
		END {
			for (k = 1; k <= 3; k++) q[k] = r["null", k] / r["spin-ttas", k]
			for (i = 1; i <= 3; i++) for (j = i + 1; j <= 3; j++)
				if (q[j] < q[i]) { t = q[i]; q[i] = q[j]; q[j] = t }
			printf "%.2fx\n", q[2]
		}' "$T/b.csv")
	[ "$shown" = "$want" ] || { show_run; flunk "table shows $shown, the CSV gives $want"; }
	grep -q '^vs spin-ttas: ops/s over spin-ttas.s in the same repetition' <<<"$output" || { show_run; flunk "no legend for the vs column"; }
}

@test "--baseline must name one of the primitives run: a one-line usage error and nothing is written" {
	run --separate-stderr "$SYNCLAB" bench null,spin-ttas --baseline mutex --csv "$T/n.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--baseline: 'mutex' is not one of the primitives run (accepted: null, spin-ttas)"
	[ ! -e "$T/n.csv" ] || flunk "a CSV was written"
}
