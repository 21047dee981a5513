# synclab plot: the charts, data and scripts written from a bench CSV, the formats, life without gnuplot, and bad input.

load helpers

# Two small runs shared by every test, both with latency sampled: the
# second with another --cs-ns, so that together they vary it.
setup_file() {
	local d="$BATS_FILE_TMPDIR"
	rc=0
	"$SYNCLAB" bench mutex,spin-ticket --threads 1,2 --repeat 2 --latency \
		--duration 30ms --warmup 5ms --csv "$d/lat.csv" --quiet \
		>/dev/null 2>"$d/lat.err" || rc=$?
	"$SYNCLAB" bench mutex --threads 1,2 --cs-ns 100 --latency \
		--duration 30ms --warmup 5ms --csv "$d/cs.csv" --quiet \
		>/dev/null 2>"$d/cs.err" || rc=$?
	echo "$rc" >"$d/rc"
}

# Copy the shared CSV NAME into $T/res/ and set R to it.
results() {
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/rc")
	[ "$rc" -eq 0 ] || flunk "the shared bench runs exited $rc: $(cat "$BATS_FILE_TMPDIR"/*.err)"
	mkdir -p "$T/res"
	cp "$BATS_FILE_TMPDIR/$1.csv" "$T/res/$1.csv"
	R="$T/res/$1.csv"
}

need_gnuplot() {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
}

# is_png FILE: the PNG signature, and file(1) agrees when it is installed.
is_png() {
	local sig
	sig=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
	[ "$sig" = "89504e470d0a1a0a" ] || flunk "$1 is not a PNG (starts with $sig)"
	if command -v file >/dev/null; then
		file -b "$1" | grep -q '^PNG image data' || flunk "file(1) says $1 is: $(file -b "$1")"
	fi
}

# rewrite_csv IN OUT EXPR: OUT is IN with every row r (a dict) replaced by
# the Python expression EXPR's dict; a key set to None is dropped.
rewrite_csv() {
	python3 - "$1" "$2" "$3" <<'EOF'
import csv, sys
src, dst, expr = sys.argv[1:]
with open(src, newline='') as f:
    rows = list(csv.DictReader(f))
out = [eval(expr, {"r": dict(r), "i": i}) for i, r in enumerate(rows)]
fields = [k for k in rows[0].keys() if out[0].get(k, "") is not None]
with open(dst, "w", newline='') as f:
    w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(out)
EOF
}

@test "plot draws throughput, latency, counters and fairness, each with its data and script" {
	need_gnuplot
	results lat
	run --separate-stderr "$SYNCLAB" plot "$R" -o "$T/charts"
	expect_status 0
	expect_stderr_empty
	local c
	for c in throughput latency fairness; do
		[ -s "$T/charts/$c.dat" ] || { show_run; flunk "no $c.dat"; }
		[ -s "$T/charts/$c.gp" ] || flunk "no $c.gp"
		is_png "$T/charts/$c.png"
		expect_stdout_has "chart: $T/charts/$c.png"
	done
	# Context switches are software events: counted on every machine.
	is_png "$T/charts/counters.png"
	# The scripts read their data by relative path and label their axes
	# with units.
	grep -q "'throughput.dat'" "$T/charts/throughput.gp" || flunk "throughput.gp does not read throughput.dat"
	! grep -q "$T" "$T/charts/"*.gp || flunk "a script names an absolute path"
	grep -q 'ylabel "throughput (ops/s)"' "$T/charts/throughput.gp" || flunk "no ops/s axis"
	grep -q 'ylabel "latency (ns)"' "$T/charts/latency.gp" || flunk "no ns axis"
	grep -q 'switches/op' "$T/charts/counters.gp" || flunk "no switches/op axis"
	grep -q 'key outside' "$T/charts/throughput.gp" || flunk "the legend is not outside the plot"
	# One line per primitive, each with its own dash type and marker.
	grep -qF "title 'mutex'" "$T/charts/throughput.gp" || flunk "no mutex line"
	grep -qF "title 'spin-ticket'" "$T/charts/throughput.gp" || flunk "no spin-ticket line"
	[ "$(grep -c '^set style line [0-9]* .* dt [0-9]* pt [0-9]*' "$T/charts/throughput.gp")" -eq 2 ] ||
		flunk "expected 2 line styles with dash type and marker"
	# The machine is in the subtitle.
	local host
	host=$(csv_col "$R" host | head -n 1)
	grep -q "$host" "$T/charts/throughput.gp" || flunk "the subtitle does not name host $host"
	# Points at 1 and 2 threads for both primitives.
	[ "$(grep -Ec '^[12] [0-9.e+]+ ' "$T/charts/throughput.dat")" -eq 4 ] ||
		flunk "expected 4 points in throughput.dat: $(cat "$T/charts/throughput.dat")"
}

@test "plot draws the events the primitives counted, on a log axis, and leaves the chart out when every count is 0" {
	need_gnuplot
	results lat
	rewrite_csv "$R" "$T/ev.csv" 'dict(r, prim_events="sleeps=%d;wakes=%d" % (5 + i, 7 + i) if r["primitive"] == "mutex" else r["prim_events"])'
	run --separate-stderr "$SYNCLAB" plot "$T/ev.csv" -o "$T/ev"
	expect_status 0
	is_png "$T/ev/events.png"
	expect_stdout_has "chart: $T/ev/events.png"
	grep -q 'set logscale y' "$T/ev/events.gp" || flunk "the events axis is not logarithmic"
	grep -qF "title 'sleeps'" "$T/ev/events.gp" || flunk "no sleeps in the legend"
	grep -q '^# threads  sleeps_median' "$T/ev/events.dat" || flunk "events.dat has no sleeps column"
	rewrite_csv "$R" "$T/zero.csv" 'dict(r, prim_events="sleeps=0;wakes=0" if r["primitive"] == "mutex" else "")'
	run --separate-stderr "$SYNCLAB" plot "$T/zero.csv" -o "$T/zero"
	expect_status 0
	[ ! -e "$T/zero/events.png" ] || flunk "an events chart of zeros was drawn"
	expect_stdout_has "no events chart: every count in prim_events is 0"
}

@test "a kept script renders again on its own from its directory" {
	need_gnuplot
	results lat
	run --separate-stderr "$SYNCLAB" plot "$R" -o "$T/charts"
	expect_status 0
	rm "$T/charts/throughput.png"
	(cd "$T/charts" && gnuplot throughput.gp) || flunk "gnuplot throughput.gp failed"
	is_png "$T/charts/throughput.png"
}

@test "-o defaults to the CSV's directory, and a missing -o directory is created" {
	results lat
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$R"
	expect_status 0
	[ -s "$T/res/throughput.gp" ] || { show_run; flunk "no throughput.gp beside the CSV"; }
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$R" -o "$T/new/deeper"
	expect_status 0
	[ -s "$T/new/deeper/throughput.gp" ] || { show_run; flunk "no throughput.gp in a new directory"; }
}

@test "--format svg and --format pdf write those images" {
	need_gnuplot
	results lat
	run --separate-stderr "$SYNCLAB" plot "$R" -o "$T/svg" --format svg
	expect_status 0
	grep -q '<svg' "$T/svg/throughput.svg" || { show_run; flunk "throughput.svg is not SVG"; }
	grep -q "set output 'latency.svg'" "$T/svg/latency.gp" || flunk "latency.gp does not write latency.svg"
	[ ! -e "$T/svg/throughput.png" ] || flunk "a PNG was written for --format svg"
	run --separate-stderr "$SYNCLAB" plot "$R" -o "$T/pdf" --format pdf
	expect_status 0
	[ "$(head -c 5 "$T/pdf/throughput.pdf")" = "%PDF-" ] || { show_run; flunk "throughput.pdf is not a PDF"; }
	[ "$(head -c 5 "$T/pdf/fairness.pdf")" = "%PDF-" ] || flunk "fairness.pdf is not a PDF"
}

@test "without gnuplot the data and scripts are written, exit 0, and stderr says how to render them" {
	results lat
	mkdir "$T/emptybin"
	run --separate-stderr env PATH="$T/emptybin" "$SYNCLAB" plot "$R" -o "$T/charts"
	expect_status 0
	expect_one_stderr_line
	expect_stderr_has "gnuplot not found" "cd $T/charts && gnuplot *.gp"
	local c
	for c in throughput latency fairness; do
		[ -s "$T/charts/$c.gp" ] || { show_run; flunk "no $c.gp"; }
		[ -s "$T/charts/$c.dat" ] || flunk "no $c.dat"
		[ ! -e "$T/charts/$c.png" ] || flunk "$c.png appeared without gnuplot"
	done
	expect_stdout_has "chart script: $T/charts/throughput.gp"
	# The advice works.
	if command -v gnuplot >/dev/null; then
		(cd "$T/charts" && gnuplot *.gp) || flunk "gnuplot *.gp failed"
		is_png "$T/charts/throughput.png"
		is_png "$T/charts/latency.png"
	fi
}

@test "no latency chart without lat_* values, and an old one is not left behind" {
	results lat
	rewrite_csv "$R" "$T/nolat.csv" '{k: ("" if k.startswith("lat_") else v) for k, v in r.items()}'
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$R" -o "$T/charts"
	expect_status 0
	[ -s "$T/charts/latency.gp" ] || { show_run; flunk "no latency.gp from the latency run"; }
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$T/nolat.csv" -o "$T/charts"
	expect_status 0
	expect_stdout_has "no latency chart" "--latency"
	[ ! -e "$T/charts/latency.gp" ] || flunk "the old latency.gp was left behind"
	[ ! -e "$T/charts/latency.dat" ] || flunk "the old latency.dat was left behind"
	[ -s "$T/charts/throughput.gp" ] || flunk "no throughput.gp"
}

@test "a parameter that varies at one thread count gets a line per value, named in the legend" {
	results lat
	cat "$BATS_FILE_TMPDIR/cs.csv" >"$T/both.csv"
	tail -n +2 "$R" >>"$T/both.csv"
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$T/both.csv" -o "$T/charts"
	expect_status 0
	expect_stdout_has "one line per primitive and value of cs_ns"
	grep -qF "title 'mutex cs_ns=100'" "$T/charts/throughput.gp" || flunk "no line for mutex at cs_ns=100"
	grep -qF "title 'mutex cs_ns=0'" "$T/charts/throughput.gp" || flunk "no line for mutex at cs_ns=0"
	grep -qF "title 'spin-ticket cs_ns=0'" "$T/charts/throughput.gp" || flunk "no line for spin-ticket"
}

@test "rows whose status is not ok are left out and counted" {
	results lat
	rewrite_csv "$R" "$T/some.csv" 'dict(r, status="error", ops_per_sec="") if r["primitive"] == "spin-ticket" else r'
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$T/some.csv" -o "$T/charts"
	expect_status 0
	expect_stdout_has "4 row(s) left out: status not ok"
	! grep -q 'spin-ticket' "$T/charts/throughput.gp" || flunk "spin-ticket has a line"
	grep -qF "title 'mutex'" "$T/charts/throughput.gp" || flunk "mutex lost its line"
}

@test "--log puts the throughput axis on a log scale" {
	results lat
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$R" -o "$T/charts" --log
	expect_status 0
	grep -q '^set logscale y' "$T/charts/throughput.gp" || flunk "no log y axis"
	run --separate-stderr env PATH="/nonexistent" "$SYNCLAB" plot "$R" -o "$T/lin"
	! grep -q '^set logscale y' "$T/lin/throughput.gp" || flunk "log y axis without --log"
}

# refuses NEEDLE... -- ARGS...: `synclab plot ARGS -o $T/out` exits 2 with
# one line on stderr holding every NEEDLE, and writes nothing.
refuses() {
	local needles=()
	while [ "$1" != "--" ]; do
		needles+=("$1")
		shift
	done
	shift
	run --separate-stderr "$SYNCLAB" plot "$@" -o "$T/out"
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "${needles[@]}"
	[ ! -e "$T/out" ] || flunk "$T/out was created"
}

@test "bad input exits 2 with one line and writes nothing" {
	results lat
	refuses "'$T/missing.csv'" -- "$T/missing.csv"
	rewrite_csv "$R" "$T/nocol.csv" 'dict(r, ops_per_sec=None)'
	refuses "'ops_per_sec'" "required: primitive, threads, ops_per_sec" -- "$T/nocol.csv"
	rewrite_csv "$R" "$T/failed.csv" 'dict(r, status="check-failed", ops_per_sec="")'
	refuses "no row has status ok" -- "$T/failed.csv"
	printf 'primitive,threads,ops_per_sec\nmutex,1,"5\n' >"$T/broken.csv"
	refuses "unterminated" -- "$T/broken.csv"
	: >"$T/empty.csv"
	refuses "empty" -- "$T/empty.csv"
	mkdir "$T/adir"
	refuses "'$T/adir' is a directory" "a CSV file" -- "$T/adir"
	refuses "'gif'" "png, svg, pdf" -- "$R" --format gif
	refuses "which results" --
	refuses "one results CSV" -- "$R" "$R"
	refuses "'--bogus'" -- "$R" --bogus
}

@test "an output path that is a file is refused" {
	results lat
	: >"$T/file"
	run --separate-stderr "$SYNCLAB" plot "$R" -o "$T/file"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'$T/file' is not a directory"
}

@test "plot --help shows the usage and every option" {
	run --separate-stderr "$SYNCLAB" plot --help
	expect_status 0
	expect_stderr_empty
	expect_stdout_has "usage: synclab plot" "--output" "--format" "--log" "--title"
	[ "$output" = "$("$SYNCLAB" help plot)" ] || flunk "plot --help and help plot differ"
}

@test "text from the CSV never runs as a command when the charts are drawn" {
	"$SYNCLAB" bench mutex --threads 1,2 --duration 20ms --warmup 0ms --quiet \
		--counters none --csv "$T/a.csv" >/dev/null
	# A primitive name carrying gnuplot's `command` substitution.
	awk -v t="$T" 'NR == 2 { sub(/^mutex/, "\"mu`touch " t "/PWNED`tex\"") } { print }' \
		"$T/a.csv" > "$T/evil.csv"
	grep -q 'PWNED' "$T/evil.csv" || flunk "the test CSV lacks the command"
	run --separate-stderr "$SYNCLAB" plot "$T/evil.csv" -o "$T/out"
	expect_status 0
	[ ! -e "$T/PWNED" ] || flunk "a command in the CSV ran"
	grep -q 'PWNED' "$T/out/throughput.gp" || flunk "the label was not kept as text"
}
