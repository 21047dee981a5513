# Shared set-up and assertions for synclab's command-line tests.

bats_require_minimum_version 1.5.0

SYNCLAB="$BATS_TEST_DIRNAME/../../synclab"
SRCDIR="$BATS_TEST_DIRNAME/../.."

setup() {
	T="$BATS_TEST_TMPDIR"
	if [ ! -x "$SYNCLAB" ]; then
		echo "no executable at $SYNCLAB: run make first" >&2
		return 1
	fi
}

# Print every argument on its own line on stderr and fail.
flunk() {
	printf '%s\n' "$@" >&2
	return 1
}

show_run() {
	printf 'exit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s\n' \
		"$status" "$output" "${stderr-}" >&2
}

expect_status() {
	if [ "$status" -ne "$1" ]; then
		show_run
		flunk "expected exit status $1, got $status"
	fi
}

expect_stdout_has() {
	local n
	for n in "$@"; do
		if [[ "$output" != *"$n"* ]]; then
			show_run
			flunk "stdout lacks: $n"
		fi
	done
}

expect_stderr_has() {
	local n
	for n in "$@"; do
		if [[ "$stderr" != *"$n"* ]]; then
			show_run
			flunk "stderr lacks: $n"
		fi
	done
}

expect_stdout_empty() {
	if [ -n "$output" ]; then
		show_run
		flunk "stdout should be empty"
	fi
}

expect_stderr_empty() {
	if [ -n "$stderr" ]; then
		show_run
		flunk "stderr should be empty"
	fi
}

expect_one_stderr_line() {
	if [ -z "$stderr" ] || [[ "$stderr" == *$'\n'* ]]; then
		show_run
		flunk "stderr should be exactly one line"
	fi
}

# Milliseconds on the monotonic-enough wall clock, for elapsed times.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# The CSV column names as `synclab list columns` gives them, one a line.
list_columns() {
	"$SYNCLAB" list columns | awk 'NR > 1 { print $1 }'
}

# The commands `synclab --help` lists, one a line.
list_commands() {
	"$SYNCLAB" --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

# "yes" when `synclab list counters` calls the event supported, else "no";
# nothing when the event is not listed.
counter_supported() {
	"$SYNCLAB" list counters |
		awk -v ev="$1" 'NR > 1 && $1 == ev { print ($2 == "supported" ? "yes" : "no") }'
}

# csv_check FILE: a non-empty CSV that ends with a newline and whose every
# row has the header's field count.  Prints the number of data rows.
csv_check() {
	python3 - "$1" <<'EOF'
import csv, sys
path = sys.argv[1]
data = open(path, newline='').read()
if not data:
    sys.exit(f"{path}: empty")
if not data.endswith('\n'):
    sys.exit(f"{path}: last line is not terminated (a half row?)")
rows = list(csv.reader(data.splitlines()))
header = rows[0]
for i, r in enumerate(rows[1:], 2):
    if len(r) != len(header):
        sys.exit(f"{path}:{i}: {len(r)} fields, header has {len(header)}: {r}")
print(len(rows) - 1)
EOF
}

# csv_col FILE COLUMN: the column's values, one a line, in row order.
csv_col() {
	python3 - "$1" "$2" <<'EOF'
import csv, sys
path, col = sys.argv[1], sys.argv[2]
with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
for r in rows:
    if col not in r:
        sys.exit(f"{path}: no column {col}")
    print(r[col])
EOF
}

# csv_each FILE EXPR: EXPR, a Python expression over the row r (a dict of
# strings), holds on every data row.  num(s) parses a number or fails;
# isnum(s) says whether s is one.
csv_each() {
	python3 - "$1" "$2" <<'EOF'
import csv, math, re, sys
path, expr = sys.argv[1], sys.argv[2]

def num(s):
    v = float(s)
    if not math.isfinite(v):
        raise ValueError(f"not finite: {s}")
    return v

def isnum(s):
    try:
        num(s)
        return True
    except ValueError:
        return False

with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
if not rows:
    sys.exit(f"{path}: no data rows")
bad = 0
for i, r in enumerate(rows, 2):
    try:
        ok = eval(expr, {"num": num, "isnum": isnum, "re": re, "r": r})
    except Exception as e:
        ok = False
        print(f"{path}:{i}: {type(e).__name__}: {e}", file=sys.stderr)
    if not ok:
        bad += 1
        print(f"{path}:{i}: fails {expr}: {dict(r)}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# Skip unless this process may run on PU $1.
require_pu() {
	local allowed
	allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
	python3 -c '
import sys
pu, spec = int(sys.argv[1]), sys.argv[2]
for part in spec.split(","):
    lo, _, hi = part.partition("-")
    if int(lo) <= pu <= int(hi or lo):
        sys.exit(0)
sys.exit(1)' "$1" "$allowed" || skip "PU $1 is not usable here (usable: $allowed)"
}

# Skip unless this process may run on exactly PUs 0 and 1.
require_two_pus() {
	local allowed
	allowed=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
	[ "$allowed" = "0-1" ] || skip "needs a machine whose usable PUs are 0-1 (here: $allowed)"
}
