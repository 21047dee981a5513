# synclab sweep: grid size, dry run, resume, interrupts, failed points, presets and usage errors.

load helpers

# points FILE: the rows' (primitive, threads, rep, cs_ns, read_pct) sorted, one a line.
points() {
	python3 - "$1" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
for k in sorted((r["primitive"], r["threads"], r["rep"], r["cs_ns"], r["read_pct"]) for r in rows):
    print(" ".join(k))
EOF
}

# The default thread list: powers of two below twice the usable PUs, the
# PU count and twice it.
default_threads() {
	python3 -c '
import os
p = len(os.sched_getaffinity(0)); top = min(2 * p, 4096)
t = sorted({1 << i for i in range(13) if (1 << i) < top} | {p, top})
print(len(t))'
}

@test "the grid is the product of the lists, and a dial multiplies only the kinds that read it" {
	run --separate-stderr "$SYNCLAB" sweep --prims mutex,rwlock --threads 1,2 \
		--cs-ns 0,100 --read-pct 50,90 --repeat 2 --duration 20ms --warmup 0ms \
		--out "$T/g" --quiet
	expect_status 0
	local n
	n=$(csv_check "$T/g/results.csv") || flunk "bad CSV"
	# mutex: 2 cs x 2 threads x 2 reps; rwlock: 2 cs x 2 reads x 2 threads x 2 reps
	[ "$n" -eq 24 ] || flunk "$n rows, expected 8 + 16"
	csv_each "$T/g/results.csv" 'r["status"] == "ok"'
	python3 - "$T/g/results.csv" <<'EOF' || flunk "wrong set of points"
import csv, itertools, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
got = sorted((r["primitive"], r["threads"], r["rep"], r["cs_ns"], r["read_pct"]) for r in rows)
want = sorted([("mutex", t, k, c, "") for t, k, c in itertools.product("12", "12", ("0", "100"))] +
              [("rwlock", t, k, c, p) for t, k, c, p in itertools.product("12", "12", ("0", "100"), ("50", "90"))])
if got != want:
    sys.exit(f"got {got}\nwant {want}")
EOF
	[ "$(head -n 1 "$T/g/results.csv")" = "$(list_columns | paste -sd, -)" ] || flunk "not the columns' header"
	# The table goes to stdout, one block per setting of the varied dials.
	grep -q '^== cs-ns 100 ns, read-pct 90 %' <<<"$output" || { show_run; flunk "no table for cs-ns 100, read-pct 90"; }
	grep -Eq '^rwlock +2 +2 ' <<<"$output" || { show_run; flunk "no rwlock line"; }
}

@test "combinations a workload refuses are left out and said so" {
	run --separate-stderr "$SYNCLAB" sweep --prims queue-ms --threads 1,2 --repeat 1 \
		--duration 20ms --warmup 0ms --out "$T/q"
	expect_status 0
	expect_stderr_has "left out" "1 combination" "at least 2 threads"
	csv_each "$T/q/results.csv" 'r["primitive"] == "queue-ms" and r["threads"] == "2" and r["status"] == "ok"'
	[ "$(csv_check "$T/q/results.csv")" -eq 1 ] || flunk "expected one row"
}

@test "--dry-run prints the number of points and an estimate, and runs nothing" {
	run --separate-stderr "$SYNCLAB" sweep --prims mutex,rwlock --threads 1,2 \
		--cs-ns 0,100 --read-pct 50,90 --repeat 2 --duration 2s --warmup 500ms \
		--out "$T/d" --dry-run
	expect_status 0
	expect_stdout_has "sweep: 24 points to run, estimated" "mutex 8, rwlock 16" \
		"read-pct     50,90 % (multiplies rwlock points)" "$T/d/results.csv"
	[ ! -e "$T/d" ] || flunk "a dry run created the out directory"
	# 24 points of 2.5 s each cannot take less than a minute.
	grep -Eq 'estimated 1m [0-9]{2}s' <<<"$output" || { show_run; flunk "estimate is not just over 1 minute"; }
}

@test "--preset locks --dry-run counts 8 primitives x 2 cs-ns x the default thread list x 3 and estimates at least their windows" {
	local nt want
	nt=$(default_threads)
	want=$((8 * 2 * nt * 3))
	run --separate-stderr "$SYNCLAB" sweep --preset locks --dry-run --out "$T/p"
	expect_status 0
	expect_stdout_has "sweep: $want points to run" "cs-ns        0,1000 ns"
	python3 - "$want" "$output" <<'EOF' || flunk "estimate below the points' windows: $output"
import re, sys
want = int(sys.argv[1])
m = re.search(r"estimated (?:(\d+)h )?(?:(\d+)m )?(?:(\d+(?:\.\d+)?)s)?", sys.argv[2])
h, mi, s = (float(x) if x else 0.0 for x in m.groups())
secs = h * 3600 + mi * 60 + s
sys.exit(0 if secs >= want * 1.2 else f"{secs} s < {want} x 1.2 s")
EOF
}

@test "options given override the preset's" {
	local nt
	nt=$(default_threads)
	run --separate-stderr "$SYNCLAB" sweep --preset rw --prims rwlock --read-pct 95 --repeat 1 --dry-run
	expect_status 0
	expect_stdout_has "sweep: $nt points to run" "points       rwlock $nt" "read-pct 95 %"
}

@test "--resume runs only the points without an ok row and appends them" {
	local args=(--prims mutex,spin --threads 1,2 --repeat 2 --duration 20ms --warmup 0ms --out "$T/r" --quiet)
	run --separate-stderr "$SYNCLAB" sweep "${args[@]}"
	expect_status 0
	[ "$(csv_check "$T/r/results.csv")" -eq 8 ] || flunk "first sweep: not 8 rows"
	points "$T/r/results.csv" >"$T/full"
	head -n 4 "$T/r/results.csv" >"$T/kept.csv"
	cp "$T/kept.csv" "$T/r/results.csv"
	run --separate-stderr "$SYNCLAB" sweep "${args[@]}" --resume
	expect_status 0
	[ "$(csv_check "$T/r/results.csv")" -eq 8 ] || flunk "after resume: $(csv_check "$T/r/results.csv") rows"
	points "$T/r/results.csv" >"$T/resumed"
	diff "$T/full" "$T/resumed" || flunk "resumed sweep has other points"
	[ "$(head -n 4 "$T/r/results.csv")" = "$(cat "$T/kept.csv")" ] || flunk "the kept rows changed"
	csv_each "$T/r/results.csv" 'r["status"] == "ok"'
	# The summary covers the whole sweep, earlier rows included: 4 points
	# of 2 repetitions each.
	[ "$(csv_check "$T/r/summary.csv")" -eq 4 ] || flunk "summary after resume: $(csv_check "$T/r/summary.csv") points"
	csv_each "$T/r/summary.csv" 'r["reps"] == "2" and r["reps_ok"] == "2"'

	# Nothing left: nothing runs, nothing is added.
	cp "$T/r/results.csv" "$T/before.csv"
	run --separate-stderr "$SYNCLAB" sweep "${args[@]/--quiet/--dry-run}" --resume
	expect_status 0
	expect_stdout_has "sweep: 0 points to run" "8 already in"
	run --separate-stderr "$SYNCLAB" sweep "${args[@]}" --resume
	expect_status 0
	cmp -s "$T/before.csv" "$T/r/results.csv" || flunk "a complete sweep changed on resume"
}

@test "--resume runs a point again when its row failed, keeping the failed row" {
	local args=(--prims mutex --threads 1 --repeat 2 --duration 20ms --warmup 0ms --out "$T/f" --quiet)
	run --separate-stderr "$SYNCLAB" sweep "${args[@]}"
	expect_status 0
	python3 - "$T/f/results.csv" <<'EOF'
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline='')))
st = rows[0].index("status")
rows[2][st] = "stuck"
csv.writer(open(path, "w", newline=''), lineterminator="\n").writerows(rows)
EOF
	run --separate-stderr "$SYNCLAB" sweep "${args[@]}" --resume
	expect_status 0
	[ "$(csv_check "$T/f/results.csv")" -eq 3 ] || flunk "expected 2 + 1 rows"
	[ "$(csv_col "$T/f/results.csv" status | paste -sd' ' -)" = "ok stuck ok" ] ||
		flunk "statuses: $(csv_col "$T/f/results.csv" status | paste -sd' ' -)"
	[ "$(csv_col "$T/f/results.csv" rep | paste -sd' ' -)" = "1 2 2" ] || flunk "the wrong point ran again"
}

@test "--resume refuses a results file with other columns, and --resume needs --out" {
	mkdir "$T/h"
	printf 'primitive,threads,rep,status\nmutex,1,1,ok\n' >"$T/h/results.csv"
	cp "$T/h/results.csv" "$T/h.orig"
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1 --duration 20ms --out "$T/h" --resume
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "other columns" "results.csv"
	cmp -s "$T/h.orig" "$T/h/results.csv" || flunk "the file changed"

	run --separate-stderr "$SYNCLAB" sweep --prims mutex --resume
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--resume needs --out"
}

@test "a sweep does not overwrite earlier results without --resume" {
	mkdir "$T/o"
	echo keep >"$T/o/results.csv"
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1 --duration 20ms --out "$T/o"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "already holds results" "--resume"
	[ "$(cat "$T/o/results.csv")" = keep ] || flunk "results.csv was overwritten"
}

# refused NEEDLE... -- ARGS...: sweep ARGS exits 2 with one stderr line
# holding every NEEDLE, and no out directory.
refused() {
	local needles=()
	while [ "$1" != "--" ]; do
		needles+=("$1")
		shift
	done
	shift
	run --separate-stderr "$SYNCLAB" sweep --out "$T/u" --duration 20ms "$@"
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "${needles[@]}"
	[ ! -e "$T/u" ] || flunk "$T/u was created"
}

@test "bad input exits 2 with one line naming it, and writes nothing" {
	refused "unknown preset 'lock'" "did you mean 'locks'" -- --preset lock
	refused "unknown preset 'everything'" "accepted: locks, spin" -- --preset everything
	refused "--cs-ns" "'1,,2'" "not a list" -- --prims mutex --cs-ns 1,,2
	refused "--read-pct" "'101'" "0..100" -- --prims rwlock --read-pct 50,101
	refused "--threads" "'0'" -- --prims mutex --threads 0,1
	refused "unknown primitive 'mutx'" "did you mean 'mutex'" -- --prims mutx
	refused "which primitives" -- --threads 1
	refused "unexpected argument 'mutex'" "--prims" -- mutex
	refused "no point to run" "at least 2 threads" -- --prims queue-ms --threads 1
	refused "unknown option '--csv'" -- --prims mutex --csv x.csv
}

# interrupt_sweep SIGNAL: start a long sweep, send SIGNAL once it has kept a
# row, and wait for it.  Sets rc and waited_ms.
interrupt_sweep() {
	local sig=$1 pid i t0
	"$SYNCLAB" sweep --prims mutex --threads 1,2 --repeat 30 --duration 100ms --warmup 0ms \
		--out "$T/i" >"$T/i.out" 2>"$T/i.err" &
	pid=$!
	for i in $(seq 100); do
		[ "$(wc -l 2>/dev/null <"$T/i/results.csv" || echo 0)" -ge 3 ] && break
		sleep 0.1
	done
	kill "-$sig" "$pid"
	t0=$(now_ms)
	rc=0
	wait "$pid" || rc=$?
	waited_ms=$(($(now_ms) - t0))
}

@test "SIGINT stops a sweep with exit 130, every completed point in a whole CSV" {
	interrupt_sweep INT
	[ "$rc" -eq 130 ] || flunk "exit status $rc, expected 130" "stderr: $(cat "$T/i.err")"
	[ "$waited_ms" -lt 3000 ] || flunk "took $waited_ms ms to stop"
	local n kept
	n=$(csv_check "$T/i/results.csv") || flunk "results.csv is not whole CSV"
	[ "$n" -ge 2 ] && [ "$n" -lt 60 ] || flunk "$n rows kept"
	csv_each "$T/i/results.csv" 'r["status"] == "ok"'
	kept=$(sed -n 's/.*interrupted; \([0-9]*\) completed point.*/\1/p' "$T/i.err")
	[ "$kept" = "$n" ] || flunk "stderr says $kept kept, the CSV has $n" "$(cat "$T/i.err")"
	grep -q -- '--resume' "$T/i.err" || flunk "stderr does not mention --resume"
}

@test "SIGTERM stops a sweep with exit 130 and a valid CSV that --resume completes" {
	interrupt_sweep TERM
	[ "$rc" -eq 130 ] || flunk "exit status $rc, expected 130"
	local n
	n=$(csv_check "$T/i/results.csv") || flunk "results.csv is not whole CSV"
	[ "$n" -ge 2 ] && [ "$n" -lt 60 ] || flunk "$n rows kept"
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1,2 --repeat 30 --duration 100ms \
		--warmup 0ms --out "$T/i" --resume --dry-run
	expect_status 0
	expect_stdout_has "sweep: $((60 - n)) points to run" "$n already in"
}

@test "a broken primitive gives a failed row with its reason, the sweep goes on and exits 1" {
	require_pu 1
	run --separate-stderr "$SYNCLAB" sweep --prims broken-lock,mutex --threads 2 --pin 0,1 --cs-ns 100 \
		--repeat 1 --duration 200ms --warmup 0ms --out "$T/b"
	expect_status 1
	expect_stderr_has "broken-lock, 2 threads" "check-failed" "mutual exclusion violated" "1 of 2 point(s) failed"
	[ "$(csv_check "$T/b/results.csv")" -eq 2 ] || flunk "expected 2 rows"
	[ "$(csv_col "$T/b/results.csv" primitive | paste -sd' ' -)" = "broken-lock mutex" ] || flunk "rows out of order"
	[ "$(csv_col "$T/b/results.csv" status | paste -sd' ' -)" = "check-failed ok" ] || flunk "statuses wrong"
	csv_each "$T/b/results.csv" 'r["status"] == "ok" or (r["message"] != "" and r["ops_per_sec"] == "")'
}

@test "on a terminal a progress line is redrawn on stderr; not otherwise" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	script -qfec "'$SYNCLAB' sweep --prims mutex --threads 1 --repeat 2 --duration 20ms --warmup 0ms --out '$T/t' >/dev/null" "$T/typescript" >/dev/null ||
		flunk "sweep under script failed: $(cat "$T/typescript")"
	grep -q $'\r\033\\[K\\[1/2\\] mutex, 1 thread, rep 1/2 | .* elapsed, about .* left' "$T/typescript" ||
		flunk "no progress line: $(cat -v "$T/typescript")"
	grep -q '\[2/2\] mutex, 1 thread, rep 2/2' "$T/typescript" || flunk "no second progress line"
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1 --repeat 2 --duration 20ms --warmup 0ms --out "$T/n"
	expect_status 0
	[[ "$stderr" != *"[1/2]"* && "$stderr" != *$'\r'* ]] || { show_run; flunk "progress line without a terminal"; }
	expect_stderr_has "sweep: 2 points to run" "sweep: 2 point(s) in"
}

@test "a long point's progress line keeps its clock running" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	script -qfec "'$SYNCLAB' sweep --prims mutex --threads 1 --repeat 1 --duration 2500ms --warmup 0ms --out '$T/l' >/dev/null" "$T/typescript" >/dev/null ||
		flunk "sweep under script failed: $(cat "$T/typescript")"
	# Drawn when the point starts, then redrawn while it runs, the
	# elapsed time moving on and the time left counting down.
	local draws
	draws=$(grep -o '\[1/1\] mutex, 1 thread, rep 1/1' "$T/typescript" | wc -l)
	[ "$draws" -ge 3 ] || flunk "the line was drawn $draws time(s): $(cat -v "$T/typescript")"
	grep -q '\[1/1\] mutex, 1 thread, rep 1/1 | [12]\.[0-9]s elapsed' "$T/typescript" ||
		flunk "no redraw with a second or more elapsed: $(cat -v "$T/typescript")"
}

@test "the out directory holds results.csv and the charts; --help lists the presets" {
	run --separate-stderr "$SYNCLAB" sweep --prims mutex,spin --threads 1,2 --repeat 1 --duration 20ms --warmup 0ms --out "$T/c/new" --quiet
	expect_status 0
	[ -s "$T/c/new/results.csv" ] || flunk "no results.csv"
	[ -s "$T/c/new/throughput.gp" ] && [ -s "$T/c/new/throughput.dat" ] || flunk "no chart script and data: $(ls "$T/c/new")"
	run --separate-stderr "$SYNCLAB" sweep --help
	expect_status 0
	expect_stdout_has "usage: synclab sweep" "--prims" "--preset" "--resume" "--dry-run" "locks" "queues" "--cs-ns 0,1000"
}

@test "--timeline rows carry the point key, so the points of a dial sweep stay apart" {
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1 --cs-ns 0,100 --repeat 1 \
		--duration 40ms --warmup 0ms --timeline 20ms --counters none --out "$T/tl" --quiet
	expect_status 0
	f="$T/tl/timeline.csv"
	[ "$(csv_check "$f")" -eq 4 ] || flunk "expected 4 rows: $(cat "$f")"
	[ "$(csv_col "$f" cs_ns | paste -sd' ' -)" = "0 0 100 100" ] || flunk "cs_ns: $(csv_col "$f" cs_ns)"
	# Each point's intervals add up to its row in results.csv.
	python3 - "$f" "$T/tl/results.csv" <<'PY' || flunk "intervals do not add up per point"
import csv, sys
tl = {}
for r in csv.DictReader(open(sys.argv[1])):
    tl[r["cs_ns"]] = tl.get(r["cs_ns"], 0) + int(r["ops"])
res = {r["cs_ns"]: int(r["ops"]) for r in csv.DictReader(open(sys.argv[2]))}
sys.exit(0 if tl == res else f"timeline {tl} vs results {res}")
PY
}

@test "--baseline gives every setting's table a vs column, and must name a primitive of the sweep" {
	run --separate-stderr "$SYNCLAB" sweep --prims null,spin-ttas --threads 1 --cs-ns 0,50 \
		--repeat 2 --duration 20ms --warmup 5ms --counters none -b spin-ttas --out "$T/s" --quiet
	expect_status 0
	[ "$(grep -Ec '^primitive +threads +reps +ops/s +vs spin-ttas ' <<<"$output")" -eq 2 ] || { show_run; flunk "not one vs column per setting"; }
	[ "$(grep -Ec '^spin-ttas +1 +2 +[0-9.]+[kMG]? +1x ' <<<"$output")" -eq 2 ] || { show_run; flunk "the baseline's lines are not 1x"; }
	[ "$(grep -Ec '^null +1 +2 +[0-9.]+[kMG]? +[0-9.]+x ' <<<"$output")" -eq 2 ] || { show_run; flunk "no ratio on null's lines"; }
	run --separate-stderr "$SYNCLAB" sweep --prims null,spin-ttas --threads 1 -b mutex --out "$T/t"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--baseline: 'mutex' is not one of the primitives run"
	[ ! -e "$T/t" ] || flunk "the sweep created its directory"
}
