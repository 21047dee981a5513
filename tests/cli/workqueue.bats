# The workqueue primitives from the command line: latency columns from bench, the check, and the queue workload's enqueue->dequeue latency.

load helpers

@test "bench workqueue,workqueue-lf --latency gives a p99 submit->start latency for both" {
	run --separate-stderr "$SYNCLAB" bench workqueue,workqueue-lf --threads 2,4 \
		--duration 100ms --warmup 20ms --counters none --latency --quiet --csv -
	expect_status 0
	printf '%s\n' "$output" >"$T/wq.csv"
	n=$(csv_check "$T/wq.csv") || flunk "bad CSV"
	[ "$n" -eq 4 ] || flunk "$n rows, expected 4"
	csv_each "$T/wq.csv" 'r["status"] == "ok" and r["primitive"] in ("workqueue", "workqueue-lf")' ||
		flunk "a row failed or names another primitive"
	# Latency sampled in every row: p99 a number of ns no smaller than the
	# median, and items (ops) executed.
	csv_each "$T/wq.csv" 'num(r["lat_p99_ns"]) > 0 and num(r["lat_p99_ns"]) >= num(r["lat_p50_ns"]) and num(r["lat_samples"]) > 0 and num(r["ops"]) > 0' ||
		flunk "lat_p99_ns missing or implausible"
	# Submitters and pool workers are recorded; the capacity does not apply.
	csv_each "$T/wq.csv" 'num(r["producers"]) + num(r["consumers"]) == num(r["threads"]) and r["capacity"] == ""' ||
		flunk "producers/consumers/capacity columns wrong"
	grep -q '^workqueue,' "$T/wq.csv" || flunk "no workqueue row"
	grep -q '^workqueue-lf,' "$T/wq.csv" || flunk "no workqueue-lf row"
}

@test "without --latency the workqueue rows carry no latency" {
	run --separate-stderr "$SYNCLAB" bench workqueue-lf --threads 2 --duration 50ms \
		--warmup 10ms --counters none --quiet --csv -
	expect_status 0
	printf '%s\n' "$output" >"$T/wq.csv"
	csv_each "$T/wq.csv" 'r["status"] == "ok" and r["lat_p99_ns"] == "" and r["lat_samples"] == ""' ||
		flunk "latency columns filled without --latency"
}

@test "check workqueue passes, and so does workqueue-lf" {
	run --separate-stderr "$SYNCLAB" check workqueue,workqueue-lf --duration 400ms
	expect_status 0
	grep -q '^ok  *workqueue  ' <<<"$output" || { show_run; flunk "no ok line for workqueue"; }
	grep -q '^ok  *workqueue-lf ' <<<"$output" || { show_run; flunk "no ok line for workqueue-lf"; }
	grep -q '^2 passed, 0 failed' <<<"$output" || { show_run; flunk "no summary line"; }
}

@test "a workqueue needs a submitter and a pool worker: one thread is a usage error" {
	run --separate-stderr "$SYNCLAB" bench workqueue --threads 1 --duration 50ms
	expect_status 2
	expect_stderr_has "'workqueue' needs at least 2 threads"
}

@test "bench queue-ms,ring-mpmc --latency gives an enqueue->dequeue p99" {
	run --separate-stderr "$SYNCLAB" bench queue-ms,ring-mpmc --threads 2 --duration 100ms \
		--warmup 20ms --counters none --latency --quiet --csv -
	expect_status 0
	printf '%s\n' "$output" >"$T/q.csv"
	csv_each "$T/q.csv" 'r["status"] == "ok" and num(r["lat_samples"]) > 0 and num(r["lat_p99_ns"]) >= num(r["lat_p50_ns"]) > 0' ||
		flunk "queue latency missing"
}
