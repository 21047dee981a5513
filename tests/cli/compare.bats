# synclab compare: regressions caught, noise and drift not flagged, the threshold, failures, --csv, and input that cannot be compared.

load helpers

# gen OUT: write a results CSV from lines on stdin, one per point:
#   PRIMITIVE THREADS STATUS RATE FACTOR... [cs_ns=N] [cpu=F]
# each FACTOR is one repetition, rate * FACTOR ops/s in a 0.1 s window
# (status ok), or the word of a failed status's message; the workers got
# F (default 1) of that window's CPU time.  Only the columns compare reads,
# plus host and message, as a CSV of an older synclab would have them; with
# GEN_NOCPU=1, without ops and cpu_s.
gen() {
	python3 -c "$GEN" "$1"
}
GEN='
import os, sys
cpu = os.environ.get("GEN_NOCPU") != "1"
out = open(sys.argv[1], "w")
out.write("primitive,threads,rep,status,ops_per_sec,%scs_ns,host,message\n" % ("ops,cpu_s," if cpu else ""))
for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    cs, share = "0", 1.0
    while w[-1].startswith(("cs_ns=", "cpu=")):
        k, v = w.pop().split("=")
        if k == "cs_ns":
            cs = v
        else:
            share = float(v)
    prim, threads, status, rate = w[0], w[1], w[2], float(w[3])
    for rep, f in enumerate(w[4:], 1):
        if status == "ok":
            r = rate * float(f)
            c = f"{round(r * 0.1)},{0.1 * share:.6f}," if cpu else ""
            out.write(f"{prim},{threads},{rep},ok,{r:.1f},{c}{cs},box,\n")
        else:
            c = ",," if cpu else ""
            out.write(f"{prim},{threads},{rep},{status},,{c}{cs},box,\"{f}, broken\"\n")
'

# Five repetitions with a few % of spread, and another five whose ranks
# interleave with them: two runs of one build on a quiet machine.
B="0.97 1.01 1.04 0.98 1.00"
N="1.05 0.96 1.00 0.94 1.03"

base() {
	gen "$T/base.csv" <<EOF
spin-ticket 1 ok 150e6 $B
spin-ticket 2 ok 25e6 $B
mutex 1 ok 160e6 $B
mutex 2 ok 80e6 $B
pthread-mutex 1 ok 120e6 $B
pthread-mutex 2 ok 30e6 $B
EOF
}

# new LINES: the base points with N's noise, some replaced by LINES.
new() {
	{
		cat <<EOF
spin-ticket 1 ok 150e6 $N
spin-ticket 2 ok 25e6 $N
mutex 1 ok 160e6 $N
mutex 2 ok 80e6 $N
pthread-mutex 1 ok 120e6 $N
pthread-mutex 2 ok 30e6 $N
EOF
		printf '%s\n' "$@"
	} | python3 -c '
import sys
pts = {}
for l in sys.stdin:
    w = l.split()
    if w:
        pts[(w[0], w[1])] = l
print("".join(pts.values()), end="")' | gen "$T/new.csv"
}

@test "compare --help describes the command and exits 0" {
	run --separate-stderr "$SYNCLAB" compare --help
	expect_status 0
	expect_stdout_has "synclab compare" "--threshold" "--normalize" "--csv"
}

@test "two runs of the same build within noise exit 0 and call every point within noise" {
	base
	new
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 0
	[ "$(grep -c 'within noise (p=' <<<"$output")" -eq 6 ] || { show_run; flunk "expected 6 points within noise"; }
	[[ "$output" != *"slower:"* ]] || { show_run; flunk "a point was called slower"; }
}

@test "a 40% slowdown of one primitive is a regression: exit 1 and the point named" {
	base
	new "mutex 1 ok 96e6 $N"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	grep -E '^mutex +1 .*-40\.0%.*slower: regression' <<<"$output" ||
		{ show_run; flunk "the mutex point at 1 thread is not named a regression"; }
	[ "$(grep -c 'slower:' <<<"$output")" -eq 1 ] || { show_run; flunk "only one point is slower"; }
	expect_stdout_has "1 slower beyond 5% (regression)"
}

@test "a faster point is not a regression" {
	base
	new "spin-ticket 2 ok 40e6 $N"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 0
	grep -E '^spin-ticket +2 .*faster' <<<"$output" || { show_run; flunk "not called faster"; }
}

@test "--normalize median divides out drift common to every point at a thread count; none does not" {
	base
	new "spin-ticket 2 ok 17.5e6 $N" "mutex 2 ok 56e6 $N" "pthread-mutex 2 ok 21e6 $N"
	run --separate-stderr "$SYNCLAB" compare --normalize median "$T/base.csv" "$T/new.csv"
	expect_status 0
	expect_stdout_has "threads 1: x1.000" "threads 2: x0.700" "vs drift"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	expect_stdout_has "drift: not divided out"
	[ "$(grep -c 'slower: regression' <<<"$output")" -eq 3 ] || { show_run; flunk "3 points slower without normalizing"; }
	run --separate-stderr "$SYNCLAB" compare --normalize none "$T/base.csv" "$T/new.csv"
	expect_status 1
}

@test "the default metric, ops per CPU-second, divides out CPU time other tenants took; ops_per_sec does not" {
	base
	# mutex at 1 thread got half the CPU: half the ops/s, the same ops per
	# CPU-second.  pthread-mutex at 2 threads does 40% less per CPU-second
	# at full CPU: a regression either way.
	new "mutex 1 ok 80e6 $N cpu=0.5" "pthread-mutex 2 ok 18e6 $N"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	expect_stdout_has "base ops/cpu-s"
	grep -E '^mutex +1 .* \+0\.0% +-50\.0% +within noise' <<<"$output" || { show_run; flunk "mutex at 1 thread not within noise per CPU-second"; }
	grep -E '^pthread-mutex +2 .*-40\.0%.*slower: regression' <<<"$output" || { show_run; flunk "pthread-mutex not slower"; }
	run --separate-stderr "$SYNCLAB" compare --metric ops_per_sec "$T/base.csv" "$T/new.csv"
	expect_status 1
	grep -E '^mutex +1 .*-50\.0%.*slower: regression' <<<"$output" || { show_run; flunk "mutex at 1 thread not slower in ops/s"; }
	# Without cpu_s, auto decides on ops/s and says so; asked for, it is an error.
	GEN_NOCPU=1 base
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	expect_stdout_has "note: deciding on ops/s: '$T/base.csv' has no 'ops' column" "base ops/s"
	run --separate-stderr "$SYNCLAB" compare --metric ops_per_cpu_s "$T/base.csv" "$T/new.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'$T/base.csv' has no 'ops' column"
	run --separate-stderr "$SYNCLAB" compare --metric ops "$T/base.csv" "$T/new.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--metric: 'ops'" "accepted: auto, ops_per_cpu_s, ops_per_sec"
}

@test "--normalize PRIM divides by a reference primitive" {
	base
	# Everything at 1 thread 20% slower, mutex 50% slower: against
	# pthread-mutex, mutex lost 37.5% and spin-ticket nothing.
	new "spin-ticket 1 ok 120e6 $N" "mutex 1 ok 80e6 $N" "pthread-mutex 1 ok 96e6 $N"
	run --separate-stderr "$SYNCLAB" compare --normalize pthread-mutex "$T/base.csv" "$T/new.csv"
	expect_status 1
	grep -E '^mutex +1 .*-37\.5%.*slower' <<<"$output" || { show_run; flunk "mutex not slower against the reference"; }
	grep -E '^spin-ticket +1 .*within noise' <<<"$output" || { show_run; flunk "spin-ticket not within noise"; }
	grep -E '^pthread-mutex +1 .*reference' <<<"$output" || { show_run; flunk "the reference is not marked"; }
	run --separate-stderr "$SYNCLAB" compare --normalize spin-mcs "$T/base.csv" "$T/new.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--normalize: 'spin-mcs'"
	expect_stdout_empty
}

@test "--threshold is honoured: a significant 10% slowdown counts at 5 and 9.5, not at 15" {
	base
	new "mutex 2 ok 72e6 0.99 1.00 1.01 1.00 0.995"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	run --separate-stderr "$SYNCLAB" compare --threshold 9.5 "$T/base.csv" "$T/new.csv"
	expect_status 1
	run --separate-stderr "$SYNCLAB" compare --threshold 15% "$T/base.csv" "$T/new.csv"
	expect_status 0
	grep -E '^mutex +2 .*-10\.[0-9]%.*within noise' <<<"$output" || { show_run; flunk "not within noise at 15%"; }
	expect_stdout_has "0 slower beyond 15%"
	for bad in abc -1 100 ""; do
		run --separate-stderr "$SYNCLAB" compare --threshold "$bad" "$T/base.csv" "$T/new.csv"
		expect_status 2
		expect_one_stderr_line
		expect_stderr_has "--threshold: '$bad'"
	done
}

@test "a large change that the repetitions do not support stays within noise" {
	base
	# Median 30% lower, but the repetitions overlap the base's.
	new "mutex 1 ok 160e6 0.70 0.65 1.05 0.60 1.02"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 0
	grep -E '^mutex +1 .*within noise' <<<"$output" || { show_run; flunk "not within noise"; }
}

@test "a point whose repetitions fall into two levels is named under the table with both levels" {
	base
	# As a host that moves the vCPUs leaves a two-thread FIFO lock: two
	# runs at a fifth of the others' rate.
	new "spin-ticket 2 ok 25e6 0.2 1.0 0.2 1.02 0.98"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 0
	expect_stdout_has "two levels: spin-ticket at 2 threads in new: 2 runs near 5.00M ops/cpu-s, 3 near 25.0M" \
		"the machine changed between repetitions"
	[ "$(grep -c '^two levels:' <<<"$output")" -eq 1 ] || { show_run; flunk "only that point, only in new"; }
}

@test "a point that was ok in BASE and fails in NEW is a regression, with the reason" {
	base
	new "pthread-mutex 2 check-failed 0 lost"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 1
	grep -E '^pthread-mutex +2 .*fails in NEW: regression \(check-failed: lost, broken\)' <<<"$output" ||
		{ show_run; flunk "the failure is not named"; }
	# Failing in both is no news; fixed in NEW is no regression.
	cp "$T/new.csv" "$T/new-failing.csv"
	run --separate-stderr "$SYNCLAB" compare "$T/new-failing.csv" "$T/new-failing.csv"
	expect_status 0
	expect_stdout_has "fails in both"
	run --separate-stderr "$SYNCLAB" compare "$T/new-failing.csv" "$T/base.csv"
	expect_status 0
	expect_stdout_has "fails in BASE, ok in NEW"
}

@test "a point only in NEW is listed; one NEW lacks is a regression unless --allow-missing" {
	base
	new "spin-mcs 2 ok 20e6 $N"
	gen "$T/fewer.csv" <<EOF
spin-ticket 1 ok 150e6 $N
mutex 1 ok 160e6 $N
pthread-mutex 1 ok 120e6 $N
EOF
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 0
	grep -E '^spin-mcs +2 .*only in NEW' <<<"$output" || { show_run; flunk "spin-mcs not listed"; }
	# An interrupted or crashed NEW run must not pass the gate.
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/fewer.csv"
	expect_status 1
	[ "$(grep -c 'missing in NEW: regression' <<<"$output")" -eq 3 ] || { show_run; flunk "3 points missing in NEW"; }
	run --separate-stderr "$SYNCLAB" compare --allow-missing "$T/base.csv" "$T/fewer.csv"
	expect_status 0
	[ "$(grep -c 'only in BASE' <<<"$output")" -eq 3 ] || { show_run; flunk "3 points only in BASE"; }
}

@test "points match on every parameter column: another cs_ns is another point" {
	base
	gen "$T/new.csv" <<EOF
mutex 1 ok 96e6 $N cs_ns=100
EOF
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/new.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "no point of" "points match on primitive, threads" "cs_ns"
	expect_stdout_empty
}

@test "--csv writes one row per point with the verdict; --csv - puts it on stdout and the table on stderr" {
	base
	new "mutex 1 ok 96e6 $N" "spin-mcs 1 ok 1e6 $N"
	run --separate-stderr "$SYNCLAB" compare --csv "$T/out.csv" "$T/base.csv" "$T/new.csv"
	expect_status 1
	expect_stdout_has "slower: regression"
	[ "$(csv_check "$T/out.csv")" -eq 7 ] || flunk "expected 7 rows: $(cat "$T/out.csv")"
	head -n 1 "$T/out.csv" | grep -q '^primitive,threads,pin,cs_ns,.*,warmup_s,base_reps_ok,new_reps_ok,metric,base_median,new_median,change_pct,drift,change_vs_drift_pct,p_value,verdict,regression,base_median_ops_per_sec,new_median_ops_per_sec,ops_per_sec_change_pct,message$' ||
		flunk "header: $(head -n 1 "$T/out.csv")"
	csv_each "$T/out.csv" 'r["verdict"] in ("within-noise", "slower", "only-in-new")'
	csv_each "$T/out.csv" '(r["regression"] == "1") == (r["verdict"] == "slower")'
	csv_each "$T/out.csv" 'r["metric"] == "ops_per_cpu_s" and r["drift"] in ("", "1.000000")'
	csv_each "$T/out.csv" 'r["verdict"] == "only-in-new" or (num(r["base_median"]) > 0 and num(r["base_median_ops_per_sec"]) > 0 and 0 <= num(r["p_value"]) <= 1 and r["base_reps_ok"] == "5")'
	csv_each "$T/out.csv" 'not (r["primitive"] == "mutex" and r["threads"] == "1") or (r["verdict"] == "slower" and abs(num(r["change_pct"]) + 40) < 0.01 and abs(num(r["ops_per_sec_change_pct"]) + 40) < 0.01 and num(r["p_value"]) < 0.01)'
	csv_each "$T/out.csv" 'r["verdict"] != "only-in-new" or (r["base_median"] == "" and r["base_median_ops_per_sec"] == "" and r["p_value"] == "")'
	run --separate-stderr "$SYNCLAB" compare --csv - "$T/base.csv" "$T/new.csv"
	expect_status 1
	printf '%s\n' "$output" >"$T/stdout.csv"
	[ "$(csv_check "$T/stdout.csv")" -eq 7 ] || flunk "stdout is not the CSV: $output"
	expect_stderr_has "slower: regression"
}

@test "too few repetitions for the rank test: exit 2 saying how many are needed" {
	gen "$T/a.csv" <<EOF
mutex 1 ok 160e6 1 1.01 0.99
EOF
	gen "$T/b.csv" <<EOF
mutex 1 ok 90e6 1 1.01 0.99
EOF
	run --separate-stderr "$SYNCLAB" compare "$T/a.csv" "$T/b.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "enough ok repetitions" "4 or more"
	expect_stdout_empty
}

@test "unusable input exits 2 with one line and writes nothing" {
	base
	new
	# A missing column.
	cut -d, -f1-4 "$T/base.csv" >"$T/nocol.csv"
	run --separate-stderr "$SYNCLAB" compare --csv "$T/out.csv" "$T/nocol.csv" "$T/new.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'$T/nocol.csv' has no 'ops_per_sec' column"
	[ ! -e "$T/out.csv" ] || flunk "--csv was written"
	# A missing file.
	run --separate-stderr "$SYNCLAB" compare --csv "$T/out.csv" "$T/base.csv" "$T/absent.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "$T/absent.csv"
	# A directory (it opens, and every read fails).
	mkdir "$T/adir"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/adir"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'$T/adir' is a directory"
	# Malformed: an unterminated quote, a row of the wrong width.
	printf 'primitive,threads,status,ops_per_sec\nmutex,1,ok,"12\n' >"$T/quote.csv"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/quote.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "quote.csv"
	printf 'primitive,threads,status,ops_per_sec\nmutex,1,ok\n' >"$T/width.csv"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/width.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "width.csv"
	# An ok row without a rate.
	printf 'primitive,threads,status,ops_per_sec\nmutex,1,ok,fast\n' >"$T/rate.csv"
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/rate.csv"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "ops_per_sec 'fast' is not a rate"
	# Header only; an empty file; not two files.
	head -n 1 "$T/base.csv" >"$T/header.csv"
	: >"$T/empty.csv"
	for f in header empty; do
		run --separate-stderr "$SYNCLAB" compare "$T/base.csv" "$T/$f.csv"
		expect_status 2
		expect_one_stderr_line
		expect_stderr_has "$f.csv"
		expect_stdout_empty
	done
	run --separate-stderr "$SYNCLAB" compare "$T/base.csv"
	expect_status 2
	expect_one_stderr_line
	[ ! -e "$T/out.csv" ] || flunk "--csv was written"
}

@test "runs joined with cat, header and all, read as more repetitions of the same points" {
	base
	new "mutex 1 ok 96e6 $N"
	cat "$T/base.csv" "$T/base.csv" >"$T/joined.csv"
	run --separate-stderr "$SYNCLAB" compare --csv - "$T/joined.csv" "$T/new.csv"
	expect_status 1
	printf '%s\n' "$output" >"$T/o.csv"
	csv_each "$T/o.csv" 'r["base_reps_ok"] == "10" and r["new_reps_ok"] == "5"'
	[[ "$stderr" != *"came from one run each"* ]] || flunk "joined runs were called one run"
}

@test "a real results CSV compared with itself: every column read, every point within noise" {
	run --separate-stderr "$SYNCLAB" bench mutex,pthread-mutex --threads 1 --repeat 4 \
		--duration 20ms --warmup 5ms --quiet --csv "$T/real.csv"
	expect_status 0
	run --separate-stderr "$SYNCLAB" compare "$T/real.csv" "$T/real.csv"
	expect_status 0
	[ "$(grep -c 'within noise (p=1.000)' <<<"$output")" -eq 2 ] || { show_run; flunk "expected 2 points within noise"; }
	expect_stdout_has "came from one run each"
}

@test "auto falls back to ops/s, saying why, when a row has no CPU time" {
	"$SYNCLAB" bench mutex --threads 1 --repeat 4 --duration 20ms --warmup 5ms \
		--quiet --counters none --csv "$T/a.csv" >/dev/null
	awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "cpu_s") c = i }
		NR == 3 { $c = "" } { print }' "$T/a.csv" > "$T/b.csv"
	run --separate-stderr "$SYNCLAB" compare "$T/a.csv" "$T/b.csv"
	expect_status 0
	expect_stdout_has "deciding on ops/s" "has no CPU time"
}
