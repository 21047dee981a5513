# Documentation drift: the man page, the README and .ci/run against what synclab itself says.

load helpers

MAN="$SRCDIR/man/synclab.1"
README="$SRCDIR/README.md"

# man_section TITLE: the lines of the man page's section TITLE, with font
# escapes dropped and every other backslash removed ("\-\-threads" reads
# "--threads").
man_section() {
	awk -v t=".SH $1" '$0 == t { on = 1; next } /^\.SH / { on = 0 } on' "$MAN" |
		sed -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' -e 's/\\//g'
}

# man_tags TITLE: the tag line of every .TP paragraph of section TITLE,
# without its macro and quotes.
man_tags() {
	man_section "$1" |
		awk 'tag { sub(/^\.[A-Z]+ */, ""); gsub(/"/, ""); print; tag = 0; next } /^\.TP/ { tag = 1 }'
}

# The whole man page with backslashes removed.
man_text() {
	sed -e 's/\\f[BIRP]//g' -e 's/\\//g' "$MAN"
}

# long_options CMD: the long options the "options:" list of `synclab CMD --help`
# gives, one a line (a description line that begins with an option is not one).
long_options() {
	"$SYNCLAB" "$1" --help |
		awk '/^options:$/ { on = 1; next } on && /^$/ { on = 0 } on' |
		sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p'
}

# demo_experiments: the experiments `synclab demo` lists, one a line, in its order.
demo_experiments() {
	"$SYNCLAB" demo | awk 'NR > 1 && /^  [a-z]/ { print $1 }'
}

# expect_options_in CMD TITLE: every long option `synclab CMD --help` lists is
# a tag (or one of the tags) of a .TP paragraph of the man page's section TITLE.
expect_options_in() {
	local opts tags o
	opts=$(long_options "$1" | sort -u)
	tags=$(man_tags "$2")
	[ "$(wc -l <<<"$opts")" -ge 3 ] || flunk "too few $1 options parsed: $opts"
	[ -n "$tags" ] || flunk "the man page has no tagged paragraphs in $2"
	for o in $opts; do
		grep -Eq -- "(^|[ ,])$o( |,|$)" <<<"$tags" || flunk "$1 option '$o' is not in $2"
	done
}

# readme_block N: the N-th fenced code block of the README.
readme_block() {
	awk -v n="$1" '/^```/ { inside = !inside; if (inside) k++; else if (k == n) exit; next } inside && k == n' "$README"
}

@test "every command synclab --help lists is documented in the man page's COMMANDS" {
	local cmds tags c
	cmds=$(list_commands)
	tags=$(man_tags COMMANDS | awk '{ print $1 }')
	[ -n "$cmds" ] && [ -n "$tags" ] || flunk "nothing to compare: commands '$cmds', tags '$tags'"
	for c in $cmds; do
		grep -qx -- "$c" <<<"$tags" || flunk "command '$c' is not in the man page's COMMANDS"
	done
}

@test "every command the man page documents exists" {
	local c
	for c in $(man_tags COMMANDS | awk '{ print $1 }'); do
		list_commands | grep -qx -- "$c" || flunk "the man page documents '$c', which synclab --help does not list"
	done
}

@test "every primitive of synclab list --all is documented in the man page's PRIMITIVES" {
	local prims tags p
	prims=$("$SYNCLAB" list --all | awk 'NR > 1 { print $1 }')
	tags=$(man_tags PRIMITIVES | awk '{ print $1 }')
	[ -n "$prims" ] || flunk "synclab list --all lists nothing"
	for p in $prims; do
		grep -qx -- "$p" <<<"$tags" || flunk "primitive '$p' is not in the man page's PRIMITIVES"
	done
}

@test "the man page's CSV COLUMNS are the columns of synclab list columns, in order" {
	local want got
	want=$(list_columns)
	got=$(man_tags "CSV COLUMNS" | awk '{ print $1 }')
	[ -n "$want" ] || flunk "synclab list columns lists nothing"
	[ "$got" = "$want" ] || flunk "man page:" "$got" "synclab list columns:" "$want"
}

@test "the man page describes every CSV column with the unit and meaning synclab list columns gives" {
	"$SYNCLAB" list columns >"$T/columns.txt"
	man_section "CSV COLUMNS" >"$T/man.txt"
	run python3 - "$T/columns.txt" "$T/man.txt" <<'PY'
import re, sys
cols = {}
for line in open(sys.argv[1]).read().splitlines()[1:]:
    name, unit, doc = re.match(r'(\S+)\s+(\S+)\s+(.*)', line).groups()
    cols[name] = (f"({unit}) " if unit != "-" else "") + doc
man, cur = {}, None
lines = open(sys.argv[2]).read().splitlines()
for i, line in enumerate(lines):
    if line.startswith(".TP"):
        cur = None
    elif i and lines[i - 1].startswith(".TP"):
        cur = line.split()[-1]
        man[cur] = []
    elif cur and not line.startswith("."):
        man[cur].append(line)
bad = 0
for name, want in cols.items():
    got = " ".join(man.get(name, []))
    if got != want:
        bad = 1
        print(f"{name}:\n  man page: {got}\n  list columns: {want}")
sys.exit(bad)
PY
	[ "$status" -eq 0 ] || flunk "$output"
}

@test "every long option of synclab bench --help is documented in the man page's BENCH OPTIONS" {
	local opts tags o
	opts=$(long_options bench)
	tags=$(man_tags "BENCH OPTIONS")
	[ "$(wc -l <<<"$opts")" -ge 10 ] || flunk "too few bench options parsed: $opts"
	for o in $opts; do
		grep -Eq -- "(^|[ ,])$o( |,|$)" <<<"$tags" || flunk "bench option '$o' is not in BENCH OPTIONS"
	done
}

@test "every long option of synclab sweep --help is documented in the man page's SWEEP OPTIONS" {
	expect_options_in sweep "SWEEP OPTIONS"
}

@test "every long option of synclab compare --help is documented in the man page's COMPARE OPTIONS" {
	expect_options_in compare "COMPARE OPTIONS"
}

@test "every long option of synclab plot --help is documented in the man page's PLOT OPTIONS" {
	expect_options_in plot "PLOT OPTIONS"
}

@test "every long option of synclab check --help is documented in the man page's CHECK OPTIONS" {
	expect_options_in check "CHECK OPTIONS"
}

@test "every long option of synclab demo --help is documented in the man page's DEMO OPTIONS" {
	expect_options_in demo "DEMO OPTIONS"
}

@test "every long option of synclab env --help is documented in the man page's ENV OPTIONS" {
	expect_options_in env "ENV OPTIONS"
}

@test "every experiment synclab demo lists has a subsection in the man page's LAB" {
	local names subs e
	names=$(demo_experiments)
	subs=$(man_section LAB | sed -n 's/^\.SS //p')
	[ "$(wc -l <<<"$names")" -ge 2 ] || flunk "too few experiments parsed from synclab demo: $names"
	for e in $names; do
		grep -qx -- "$e" <<<"$subs" || flunk "experiment '$e' has no .SS in the man page's LAB"
	done
}

@test "the man page's LAB describes only the experiments synclab demo lists, in its order" {
	local names subs
	names=$(demo_experiments)
	subs=$(man_section LAB | sed -n 's/^\.SS //p')
	[ "$subs" = "$names" ] || flunk "LAB subsections:" "$subs" "synclab demo:" "$names"
}

@test "every long option of synclab topo --help is documented in the man page's TOPO OPTIONS" {
	local tags o
	tags=$(man_tags "TOPO OPTIONS")
	for o in $(long_options topo); do
		[ "$o" = "--help" ] && continue # documented once for every command
		grep -Eq -- "(^|[ ,])$o( |,|$)" <<<"$tags" || flunk "topo option '$o' is not in TOPO OPTIONS"
	done
}

@test "every long option of synclab list --help appears in the man page" {
	local o
	for o in $(long_options list); do
		man_text | grep -q -- "$o" || flunk "list option '$o' is not in the man page"
	done
}

@test "every long option the man page mentions is one synclab accepts" {
	local known o
	known=$(
		for c in bench sweep compare plot check demo env topo list; do
			long_options "$c"
		done | sort -u
		echo --version
	)
	for o in $(man_text | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qx -- "$o" <<<"$known" || flunk "the man page mentions '$o', which no command accepts"
	done
}

@test "the man page's exit statuses are 0, 1, 2, 3 and 130" {
	[ "$(man_tags "EXIT STATUS" | paste -sd' ' -)" = "0 1 2 3 130" ] ||
		flunk "EXIT STATUS tags: $(man_tags "EXIT STATUS" | paste -sd' ' -)"
}

@test "the man page's version is synclab's version" {
	local v
	v=$("$SYNCLAB" --version | awk '{ print $2 }')
	head -n 1 "$MAN" | grep -q "\"synclab ${v%%+*}\"" || flunk "man page header: $(head -n 1 "$MAN"), synclab says $v"
}

@test "the man page renders without warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	run --separate-stderr groff -man -Tutf8 -ww -z "$MAN"
	expect_status 0
	expect_stderr_empty
}

@test "the README's first code block is exactly the two set-up commands" {
	local block n
	block=$(readme_block 1 | grep -v '^[[:space:]]*$' | grep -v '^[[:space:]]*#')
	n=$(wc -l <<<"$block")
	[ "$n" -eq 2 ] || flunk "the first code block has $n command lines:" "$block"
	local first second
	first=$(sed -n 1p <<<"$block")
	second=$(sed -n 2p <<<"$block")
	[[ "$first" == *"synclab bench mutex --threads 16"* ]] || flunk "first line: $first"
	[[ "$first" == *"--csv"* && "$first" == *"--plot"* ]] || flunk "first line lacks --csv or --plot: $first"
	[[ "$second" == *"make check"* ]] || flunk "second line: $second"
}

@test "the README's quick-start bench command works in a fresh directory" {
	local cmd
	cmd=$(readme_block 1 | grep -o 'synclab bench .*' | head -n 1 | sed 's/ *&&.*//; s/^synclab //')
	[ -n "$cmd" ] || flunk "no synclab bench command in the README's first code block"
	mkdir "$T/fresh"
	cd "$T/fresh"
	# The command as written, with a short window so the suite stays quick.
	run --separate-stderr "$SYNCLAB" $cmd --duration 50ms --warmup 10ms --quiet
	expect_status 0
	local csv plot
	csv=$(grep -o -- '--csv [^ ]*' <<<"$cmd" | awk '{ print $2 }')
	plot=$(grep -o -- '--plot [^ ]*' <<<"$cmd" | awk '{ print $2 }')
	[ -s "$csv" ] || flunk "no $csv after: synclab $cmd"
	csv_check "$csv" >/dev/null || flunk "$csv is not whole CSV"
	[ -f "$plot/throughput.gp" ] || flunk "no $plot/throughput.gp after: synclab $cmd"
	if command -v gnuplot >/dev/null; then
		[ -s "$plot/throughput.png" ] || flunk "no $plot/throughput.png after: synclab $cmd"
	fi
}

@test "every synclab example in the README and the man page uses a real command, real options and real primitives" {
	local line cmd o opts word p prims n=0
	prims=$("$SYNCLAB" list --all | awk 'NR > 1 { print $1 }')
	while IFS= read -r line; do
		line=${line%%#*}
		line=${line#*synclab }
		cmd=${line%% *}
		n=$((n + 1))
		list_commands | grep -qx -- "$cmd" || flunk "example uses unknown command '$cmd': $line"
		opts=$(long_options "$cmd")
		for o in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$line"); do
			grep -qx -- "$o" <<<"$opts" || flunk "example uses '$o', which synclab $cmd does not accept: $line"
		done
		if [ "$cmd" = bench ]; then
			read -r _ word _ <<<"$line"
			for p in ${word//,/ }; do
				grep -qx -- "$p" <<<"$prims" || flunk "example runs unknown primitive '$p': $line"
			done
		fi
	done < <( { readme_block 1; readme_block 2; man_section EXAMPLES; } | grep -E '(^|[ /])synclab [a-z]')
	[ "$n" -ge 8 ] || flunk "only $n examples found"
}

@test ".ci/run runs make check" {
	[ -x "$SRCDIR/.ci/run" ] || flunk ".ci/run is not executable"
	grep -Eq '^[^#]*\bmake\b[^#]*\bcheck\b' "$SRCDIR/.ci/run" || flunk ".ci/run does not run make check: $(cat "$SRCDIR/.ci/run")"
}

@test "make cli runs this suite" {
	grep -Eq '^cli:' "$SRCDIR/Makefile" || flunk "no cli target"
	sed -n '/^cli:/,/^$/p' "$SRCDIR/Makefile" | grep -q 'bats tests/cli' || flunk "make cli does not run bats tests/cli"
	sed -n '/^check:/p' "$SRCDIR/Makefile" | grep -qw cli || flunk "make check does not include cli"
}
