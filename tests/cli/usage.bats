# Help, version, and every usage error: exit 2, one line naming the bad word, nothing written.

load helpers

# refuses NEEDLE... -- ARGS...: `synclab bench` with a CSV file and a chart
# directory prepended to ARGS exits 2 with nothing on stdout, one line on
# stderr holding every NEEDLE, and neither output created.
refuses() {
	local needles=()
	while [ "$1" != "--" ]; do
		needles+=("$1")
		shift
	done
	shift
	run --separate-stderr "$SYNCLAB" bench --csv "$T/out.csv" --plot "$T/plot" "$@"
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "${needles[@]}"
	[ ! -e "$T/out.csv" ] || flunk "$T/out.csv was written"
	[ ! -e "$T/plot" ] || flunk "$T/plot was created"
}

@test "synclab --help prints the usage and the commands on stdout" {
	run --separate-stderr "$SYNCLAB" --help
	expect_status 0
	expect_stdout_has "usage:" "commands:" "bench" "list" "topo"
	expect_stderr_empty
}

@test "synclab -h is the same as --help" {
	run --separate-stderr "$SYNCLAB" -h
	expect_status 0
	expect_stderr_empty
	[ "$output" = "$("$SYNCLAB" --help)" ] || flunk "-h and --help differ"
}

@test "synclab help prints the same usage as --help" {
	run --separate-stderr "$SYNCLAB" help
	expect_status 0
	expect_stderr_empty
	expect_stdout_has "usage:"
	[ "$output" = "$("$SYNCLAB" --help)" ] || flunk "help and --help differ"
}

@test "synclab help bench prints the bench usage" {
	run --separate-stderr "$SYNCLAB" help bench
	expect_status 0
	expect_stdout_has "usage: synclab bench" "--threads" "--csv"
	expect_stderr_empty
}

@test "synclab bench --help prints the bench usage with its defaults" {
	run --separate-stderr "$SYNCLAB" bench --help
	expect_status 0
	expect_stdout_has "usage: synclab bench" "--threads" "--duration" "[1s]" "--pin" "[compact]"
	expect_stderr_empty
	[ "$output" = "$("$SYNCLAB" help bench)" ] || flunk "bench --help and help bench differ"
}

@test "synclab bench -h is the same as bench --help" {
	run --separate-stderr "$SYNCLAB" bench -h
	expect_status 0
	expect_stderr_empty
	[ "$output" = "$("$SYNCLAB" bench --help)" ] || flunk "bench -h and bench --help differ"
}

@test "synclab --version, -V and synclab version print the same version line" {
	local v
	run --separate-stderr "$SYNCLAB" --version
	expect_status 0
	expect_stderr_empty
	[[ "$output" =~ ^synclab\ [0-9]+\.[0-9]+\.[0-9]+ ]] || flunk "bad version line: $output"
	[[ "$output" != *$'\n'* ]] || flunk "version is more than one line"
	v="$output"
	run --separate-stderr "$SYNCLAB" -V
	expect_status 0
	expect_stderr_empty
	[ "$output" = "$v" ] || flunk "-V says '$output', --version '$v'"
	run --separate-stderr "$SYNCLAB" version
	expect_status 0
	expect_stderr_empty
	[ "$output" = "$v" ] || flunk "version says '$output', --version '$v'"
}

@test "the version matches the Makefile's VERSION" {
	local want
	want=$(awk -F':= *' '/^VERSION/ { print $2; exit }' "$SRCDIR/Makefile")
	[ -n "$want" ] || flunk "no VERSION in the Makefile"
	run --separate-stderr "$SYNCLAB" --version
	expect_status 0
	[[ "$output" == "synclab $want"* ]] || flunk "version '$output' is not $want"
}

@test "synclab --help lists at least bench, list, topo, help and version" {
	local cmds
	cmds=$(list_commands)
	for c in bench list topo help version; do
		grep -qx "$c" <<<"$cmds" || flunk "--help does not list '$c'" "$cmds"
	done
}

@test "every command listed by --help answers --help with its usage on stdout" {
	local c n=0
	while read -r c; do
		n=$((n + 1))
		run --separate-stderr "$SYNCLAB" "$c" --help
		expect_status 0 || flunk "synclab $c --help"
		expect_stdout_has "usage:" || flunk "synclab $c --help"
		expect_stderr_empty || flunk "synclab $c --help"
	done < <(list_commands)
	[ "$n" -ge 5 ] || flunk "only $n commands found in --help"
}

@test "every command listed by --help has the same help through synclab help" {
	local c
	for c in $(list_commands); do
		run --separate-stderr "$SYNCLAB" help "$c"
		expect_status 0 || flunk "synclab help $c"
		expect_stderr_empty || flunk "synclab help $c"
		[ "$output" = "$("$SYNCLAB" "$c" --help)" ] ||
			flunk "synclab help $c differs from synclab $c --help"
	done
}

@test "synclab with no arguments is a usage error with the usage on stderr" {
	run --separate-stderr "$SYNCLAB"
	expect_status 2
	expect_stdout_empty
	expect_stderr_has "usage:"
}

@test "an unknown command is named with a suggestion" {
	run --separate-stderr "$SYNCLAB" bnch
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "unknown command 'bnch'" "did you mean 'bench'"
}

@test "an unknown command far from every command is named without a suggestion" {
	run --separate-stderr "$SYNCLAB" xyzzyplugh
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "unknown command 'xyzzyplugh'"
	[[ "$stderr" != *"did you mean"* ]] || flunk "suggested something for xyzzyplugh: $stderr"
}

@test "synclab help with an unknown command is a usage error" {
	run --separate-stderr "$SYNCLAB" help bnch
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "'bnch'" "did you mean 'bench'"
}

@test "an unknown option before the command is a usage error" {
	run --separate-stderr "$SYNCLAB" --bogus
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "'--bogus'"
}

@test "synclab version refuses arguments" {
	run --separate-stderr "$SYNCLAB" version extra
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
}

@test "an unknown bench option is named with the close option" {
	refuses "'--thread'" "did you mean '--threads'" -- mutex --thread 4
}

@test "a prefix of a long option is refused, not taken as the option" {
	refuses "'--dur'" -- mutex --dur 50ms
}

@test "an option without its value is a usage error" {
	refuses "--duration" -- mutex --duration
}

@test "an unknown primitive is named with a suggestion" {
	refuses "unknown primitive 'mutx'" "did you mean 'mutex'" -- mutx
}

@test "an unknown primitive inside a list is named" {
	refuses "unknown primitive 'mutx'" -- mutex,mutx
}

@test "bench without a primitive is a usage error" {
	refuses "primitive" -- --threads 1
}

@test "a primitive named twice is a usage error" {
	refuses "'mutex'" -- mutex,mutex
}

@test "--threads 0 is out of range" {
	refuses "--threads" "'0'" "accepted" -- mutex --threads 0
}

@test "--threads 8-1 is a backwards range" {
	refuses "--threads" "8-1" "accepted" -- mutex --threads 8-1
}

@test "--threads abc is not a number" {
	refuses "--threads" "'abc'" "accepted" -- mutex --threads abc
}

@test "--threads with an empty list entry is refused" {
	refuses "--threads" "1,,2" -- mutex --threads 1,,2
}

@test "--threads naming a count twice is refused (its runs would pool as one point's)" {
	refuses "--threads" "2 appears twice" "accepted" -- mutex --threads 1,2,2
	refuses "--threads" "3 appears twice" -- mutex --threads 1-4,3
}

@test "--duration 5 needs a unit" {
	refuses "--duration" "'5'" "unit" -- mutex --duration 5
}

@test "--duration 2h has a unit synclab does not accept" {
	refuses "--duration" "'2h'" "accepted" -- mutex --duration 2h
}

@test "--duration below one millisecond is out of range" {
	refuses "--duration" "'10us'" "accepted" -- mutex --duration 10us
}

@test "--warmup with a bad duration is refused" {
	refuses "--warmup" "'fast'" -- mutex --warmup fast
}

@test "--repeat 0 is out of range" {
	refuses "--repeat" "'0'" "accepted" -- mutex --repeat 0
}

@test "--locks 0 is out of range" {
	refuses "--locks" "'0'" -- mutex --locks 0
}

@test "--pin scater suggests scatter" {
	refuses "'scater'" "did you mean 'scatter'" -- mutex --pin scater
}

@test "--pin 999 names a PU this process cannot use" {
	refuses "--pin" "'999'" "usable" -- mutex --threads 1 --pin 999
}

@test "--pin with a malformed list is refused" {
	refuses "0,,1" -- mutex --pin 0,,1
}

@test "--counters cyclez is an unknown event with a suggestion" {
	refuses "--counters" "unknown event 'cyclez'" "did you mean 'cycles'" -- mutex --counters cyclez
}

@test "--counters none combined with an event is refused" {
	refuses "--counters" "none" -- mutex --counters none,cycles
}

@test "--csv under a regular file is refused" {
	: > "$T/plain"
	refuses "--csv" "plain" -- mutex --csv "$T/plain/dir/x.csv"
	[ -f "$T/plain" ] && [ ! -s "$T/plain" ] || flunk "$T/plain was changed"
}

@test "--csv into directories that do not exist yet creates them" {
	run --separate-stderr "$SYNCLAB" bench mutex --threads 1 --duration 20ms --warmup 0ms --quiet --csv "$T/new/dir/x.csv"
	expect_status 0
	[ -s "$T/new/dir/x.csv" ] || flunk "x.csv was not written"
}

@test "--csv naming a directory is refused" {
	mkdir "$T/adir"
	refuses "--csv" "$T/adir" -- mutex --csv "$T/adir"
	[ -z "$(ls -A "$T/adir")" ] || flunk "something was written into $T/adir"
}

@test "--plot naming an existing regular file is refused and the file is left alone" {
	printf 'keep me\n' >"$T/afile"
	refuses "--plot" "$T/afile" -- mutex --plot "$T/afile"
	[ "$(cat "$T/afile")" = "keep me" ] || flunk "$T/afile was changed"
}

@test "--plot under a regular file is refused" {
	: > "$T/plain"
	refuses "--plot" "plain" -- mutex --plot "$T/plain/charts"
	[ -f "$T/plain" ] || flunk "$T/plain was changed"
}

@test "an output where no file can be made is refused before the run, root or not" {
	# /proc takes no new files even from root, for whom access(2) says yes.
	refuses "--csv" "cannot create files in '/proc'" "accepted:" -- mutex --csv /proc/synclab-x/out.csv
	refuses "--plot" "cannot create files in '/proc'" -- mutex --plot /proc/synclab-x
	refuses "--plot" "cannot create files in '/proc'" -- mutex --plot /proc
	run --separate-stderr "$SYNCLAB" sweep --prims mutex --threads 1 --out /proc/synclab-x
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "--out" "cannot create files in '/proc'"
	run --separate-stderr "$SYNCLAB" env --output /proc/synclab-x
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--output" "cannot create files in '/proc'"
}

@test "a bad option after a good --csv writes no CSV file" {
	run --separate-stderr "$SYNCLAB" bench mutex --csv "$T/out.csv" --threads 0
	expect_status 2
	expect_one_stderr_line
	[ ! -e "$T/out.csv" ] || flunk "out.csv was written"
}

@test "a bad value leaves an existing CSV file untouched" {
	printf 'old,content\n' >"$T/keep.csv"
	run --separate-stderr "$SYNCLAB" bench mutex --csv "$T/keep.csv" --duration 5
	expect_status 2
	expect_one_stderr_line
	[ "$(cat "$T/keep.csv")" = "old,content" ] || flunk "keep.csv was overwritten"
}

@test "usage errors are answered at once, before any run starts" {
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr "$SYNCLAB" bench mutex --threads 2 --duration 10s --pin scater
	t1=$(now_ms)
	expect_status 2
	[ $((t1 - t0)) -lt 2000 ] || flunk "took $((t1 - t0)) ms to refuse"
}
