# synclab list (primitives, columns, counters) and synclab topo (this machine, synthetic ones, placements).

load helpers

# placement ARGS...: the placement table of one `synclab topo ... --threads N`
# run as "thread pu package numa l3 core smt" lines.
placement() {
	"$SYNCLAB" topo "$@" | awk '$1 == "THREAD" { on = 1; next } on && NF == 7 { print }'
}

@test "synclab list shows the primitives with a header and hides broken-lock" {
	run --separate-stderr "$SYNCLAB" list
	expect_status 0
	expect_stderr_empty
	grep -Eq '^PRIMITIVE +KIND +FAMILY' <<<"$output" || flunk "no header: $output"
	local p
	for p in null rmw spin-ttas mutex pthread-mutex; do
		grep -q "^$p " <<<"$output" || flunk "synclab list does not show $p"
	done
	! grep -q '^broken-lock ' <<<"$output" || flunk "synclab list shows broken-lock"
}

@test "synclab list lines every column up, the longest name included" {
	run --separate-stderr "$SYNCLAB" list --all
	expect_status 0
	grep -q '^pthread-rwlock-wpref ' <<<"$output" || flunk "no pthread-rwlock-wpref line"
	# Where the header's KIND starts, every line's kind starts after a space.
	local col
	col=$(head -1 <<<"$output" | awk '{ print index($0, "KIND") }')
	awk -v c="$col" 'NR > 1 && (substr($0, c - 1, 1) != " " || substr($0, c, 1) == " ") { bad = bad "\n" $0 }
		END { if (bad != "") { print "misaligned:" bad; exit 1 } }' <<<"$output" || flunk "columns out of line"
}

@test "synclab list --all also shows broken-lock" {
	run --separate-stderr "$SYNCLAB" list --all
	expect_status 0
	expect_stderr_empty
	grep -q '^broken-lock ' <<<"$output" || flunk "list --all does not show broken-lock"
	grep -q '^mutex ' <<<"$output" || flunk "list --all does not show mutex"
}

@test "synclab list primitives is the same as synclab list" {
	run --separate-stderr "$SYNCLAB" list primitives
	expect_status 0
	[ "$output" = "$("$SYNCLAB" list)" ] || flunk "list primitives differs from list"
}

@test "every primitive synclab list shows runs two threads and passes its check" {
	local prims n
	prims=$("$SYNCLAB" list | awk 'NR > 1 { print $1 }' | paste -sd, -)
	[ -n "$prims" ] || flunk "synclab list shows no primitive"
	run --separate-stderr "$SYNCLAB" bench "$prims" --threads 2 --duration 50ms --warmup 10ms --quiet --csv "$T/all.csv"
	expect_status 0
	n=$(csv_check "$T/all.csv") || flunk "bad CSV"
	[ "$n" -eq "$(tr , '\n' <<<"$prims" | wc -l)" ] || flunk "$n rows for $prims"
	csv_each "$T/all.csv" 'r["status"] == "ok" and num(r["ops_per_sec"]) > 0'
}

@test "synclab list columns lists every column of columns.def, in order, with a unit" {
	run --separate-stderr "$SYNCLAB" list columns
	expect_status 0
	expect_stderr_empty
	grep -Eq '^COLUMN +UNIT +MEANING' <<<"$output" || flunk "no header"
	local want got
	want=$(sed -n 's/^SL_COL(\([a-z0-9_]*\),.*/\1/p' "$SRCDIR/reports/columns.def")
	got=$(awk 'NR > 1 { print $1 }' <<<"$output")
	[ -n "$want" ] || flunk "no SL_COL lines in reports/columns.def"
	[ "$got" = "$want" ] || flunk "list columns:" "$got" "columns.def:" "$want"
	awk 'NR > 1 && NF < 3 { bad = 1 } END { exit bad }' <<<"$output" ||
		flunk "a column lacks its unit or meaning"
	grep -Eq '^ops_per_sec +ops/s ' <<<"$output" || flunk "ops_per_sec is not in ops/s"
	grep -Eq '^duration_s +s ' <<<"$output" || flunk "duration_s is not in s"
}

@test "synclab list counters shows cycles and context-switches with their status here" {
	run --separate-stderr "$SYNCLAB" list counters
	expect_status 0
	expect_stderr_empty
	local ev
	for ev in cycles instructions cache-misses context-switches cpu-migrations; do
		grep -Eq "^$ev +(supported|not supported)" <<<"$output" ||
			flunk "no status line for $ev: $output"
	done
}

@test "a counter that is not supported says why" {
	local line
	line=$("$SYNCLAB" list counters | awk 'NR > 1 && $2 == "not"' | head -n 1)
	[ -n "$line" ] || skip "every default counter is supported here"
	[[ "$line" == *"not supported: "?* ]] || flunk "no reason given: $line"
}

@test "synclab list bogus is a usage error with the accepted lists" {
	run --separate-stderr "$SYNCLAB" list bogus
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "'bogus'" "primitives" "columns" "counters"
}

@test "synclab list colums suggests columns" {
	run --separate-stderr "$SYNCLAB" list colums
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'colums'" "did you mean 'columns'"
}

@test "synclab list with two topics is a usage error" {
	run --separate-stderr "$SYNCLAB" list columns counters
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
}

@test "synclab topo prints this machine and the PUs this process may use" {
	run --separate-stderr "$SYNCLAB" topo
	expect_status 0
	expect_stderr_empty
	expect_stdout_has "this machine:" "usable PUs:"
	local n
	n=$(sed -n 's/^usable PUs: .* (\([0-9]*\) of [0-9]*)$/\1/p' <<<"$output")
	[ "$n" = "$(nproc)" ] || flunk "topo counts '$n' usable PUs, nproc says $(nproc)"
}

@test "synclab topo honours the inherited affinity" {
	command -v taskset >/dev/null || skip "taskset is not installed"
	taskset -c 1 true 2>/dev/null || skip "PU 1 is not available"
	run --separate-stderr taskset -c 1 "$SYNCLAB" topo
	expect_status 0
	grep -Eq '^usable PUs: 1 \(1 of [0-9]+\)$' <<<"$output" || flunk "usable set under taskset -c 1: $output"
}

@test "synclab topo --tree prints the PUs of this machine" {
	run --separate-stderr "$SYNCLAB" topo --tree
	expect_status 0
	grep -Eq '^ *PU P#0' <<<"$output" || flunk "no PU P#0 in the tree: $output"
}

@test "a synthetic topology is summarised with its packages, NUMA nodes, cores and PUs" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:2 numa:2 core:8 pu:2"
	expect_status 0
	expect_stdout_has "synthetic machine: 2 package(s), 4 NUMA node(s)" "32 core(s), 64 PU(s), 2 PU(s) per core"
	expect_stdout_has "usable PUs: 0-63 (64 of 64)"
}

@test "scatter puts the first two threads of a synthetic machine on different packages" {
	local rows
	rows=$(placement --topology "pack:2 numa:2 core:8 pu:2" --threads 4 --pin scatter)
	[ "$(wc -l <<<"$rows")" -eq 4 ] || flunk "expected 4 placement rows:" "$rows"
	local p0 p1
	p0=$(awk 'NR == 1 { print $3 }' <<<"$rows")
	p1=$(awk 'NR == 2 { print $3 }' <<<"$rows")
	[ "$p0" != "$p1" ] || flunk "threads 0 and 1 share package $p0:" "$rows"
}

@test "scatter spreads four threads over four NUMA nodes before using an SMT sibling" {
	local rows
	rows=$(placement --topology "pack:2 numa:2 core:8 pu:2" --threads 4 --pin scatter)
	[ "$(awk '{ print $4 }' <<<"$rows" | sort -u | wc -l)" -eq 4 ] || flunk "not on 4 NUMA nodes:" "$rows"
	[ "$(awk '{ print $2 }' <<<"$rows" | sort -u | wc -l)" -eq 4 ] || flunk "PUs repeat:" "$rows"
	awk '$7 != 0 { exit 1 }' <<<"$rows" || flunk "an SMT sibling used early:" "$rows"
}

@test "compact fills a core's PUs before the next core" {
	local rows
	rows=$(placement --topology "pack:2 numa:2 core:8 pu:2" --threads 4 --pin compact)
	local c0 c1 c2 c3
	read -r c0 c1 c2 c3 < <(awk '{ print $6 }' <<<"$rows" | paste -sd' ' -)
	[ "$c0" = "$c1" ] && [ "$c2" = "$c3" ] || flunk "threads 0,1 and 2,3 should pair on cores:" "$rows"
	[ "$c0" != "$c2" ] || flunk "threads 0 and 2 share a core:" "$rows"
	[ "$(awk '{ print $3 }' <<<"$rows" | sort -u | wc -l)" -eq 1 ] || flunk "compact left the first package:" "$rows"
}

@test "a placement uses every PU of the synthetic machine once before oversubscribing" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:2 numa:2 core:8 pu:2" --threads 64 --pin scatter
	expect_status 0
	[[ "$output" != *oversubscribed* ]] || flunk "64 threads on 64 PUs called oversubscribed"
	local rows
	rows=$(placement --topology "pack:2 numa:2 core:8 pu:2" --threads 64 --pin scatter)
	[ "$(awk '{ print $2 }' <<<"$rows" | sort -u | wc -l)" -eq 64 ] || flunk "64 threads do not use 64 PUs"
}

@test "more threads than PUs of a synthetic machine is reported oversubscribed" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:2 numa:2 core:8 pu:2" --threads 65 --pin scatter
	expect_status 0
	expect_stdout_has "oversubscribed"
	local rows
	rows=$(placement --topology "pack:2 numa:2 core:8 pu:2" --threads 65 --pin scatter)
	[ "$(wc -l <<<"$rows")" -eq 65 ] || flunk "expected 65 placement rows"
	[ "$(awk 'NR == 65 { print $2 }' <<<"$rows")" = "$(awk 'NR == 1 { print $2 }' <<<"$rows")" ] ||
		flunk "thread 64 does not wrap around to thread 0's PU"
}

@test "--allowed restricts a synthetic machine's usable PUs" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:2 core:2 pu:2" --allowed 0-2 --threads 4
	expect_status 0
	expect_stdout_has "usable PUs: 0-2 (3 of 8)" "oversubscribed"
	local rows
	rows=$(placement --topology "pack:2 core:2 pu:2" --allowed 0-2 --threads 4)
	awk '$2 > 2 { exit 1 }' <<<"$rows" || flunk "a thread placed outside 0-2:" "$rows"
}

@test "--pin none in topo leaves every thread unbound" {
	run --separate-stderr "$SYNCLAB" topo --threads 2 --pin none
	expect_status 0
	[ "$(grep -c 'unbound' <<<"$output")" -eq 2 ] || flunk "expected 2 unbound threads: $output"
}

@test "a bad --topology is a usage error naming it" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:banana"
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "--topology" "pack:banana"
}

@test "topo --pin scater suggests scatter" {
	run --separate-stderr "$SYNCLAB" topo --threads 2 --pin scater
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "'scater'" "did you mean 'scatter'"
}

@test "topo --pin naming a PU outside --allowed is a usage error" {
	run --separate-stderr "$SYNCLAB" topo --topology "pack:1 core:4 pu:1" --allowed 0-1 --threads 1 --pin 3
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'3'" "usable"
}

@test "topo refuses a positional argument" {
	run --separate-stderr "$SYNCLAB" topo mutex
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "'mutex'"
}
