# synclab env: the fingerprint and facts of this machine and of captured trees, warnings, the environment file, usage errors.

load helpers

DATA="$BATS_TEST_DIRNAME/../data/env"

# fact KEY: the value of one "key: value" line of synclab env's output.
fact() {
	awk -v k="$1:" 'index($0, k) == 1 { sub(/^[^:]*: +/, ""); print; exit }' <<<"$output"
}

@test "synclab env on this machine: exit 0, the fingerprint first, then aligned facts" {
	run --separate-stderr "$SYNCLAB" env
	expect_status 0
	grep -Eq '^fingerprint: +[0-9a-f]{16}$' <<<"$(head -n 1 <<<"$output")" ||
		flunk "first line is not the fingerprint: $(head -n 1 <<<"$output")"
	local k
	for k in kernel libc "cpu model" "PUs online" SMT governor boost clocksource \
		"transparent hugepages" "isolated CPUs" perf_event_paranoid "hardware counters" \
		hypervisor "load average"; do
		grep -q "^$k: " <<<"$output" || flunk "no '$k' line"
	done
	# Every line is "key: value" with the values in one column.
	awk '{ if (substr($0, 24, 1) != " " || substr($0, 25, 1) == " " || index($0, ": ") == 0) bad = 1 }
	     END { exit bad }' <<<"$output" || flunk "lines are not aligned key: value"
	[ "$(fact kernel)" = "$(uname -r)" ] || flunk "kernel '$(fact kernel)', uname -r '$(uname -r)'"
	[[ "$(fact libc)" != *"not probed"* ]] || flunk "libc was not probed on this machine"
	# Warnings go to stderr, each a warning or a hint.
	if [ -n "$stderr" ]; then
		! grep -Ev '^(warning|hint): ' <<<"$stderr" || flunk "stderr has other lines: $stderr"
	fi
}

@test "synclab env detects the hypervisor this machine runs under" {
	grep -qw hypervisor /proc/cpuinfo || skip "no hypervisor flag in /proc/cpuinfo"
	run --separate-stderr "$SYNCLAB" env
	expect_status 0
	local hv
	hv=$(fact hypervisor)
	[[ "$hv" != "none detected" && "$hv" != unknown* ]] || flunk "hypervisor: $hv"
	[[ "$hv" == *"cpuinfo flag"* ]] || flunk "the cpuinfo flag is not named: $hv"
	if [ "$(uname -m)" = x86_64 ]; then
		[[ "$hv" == *"cpuid '"* ]] || flunk "CPUID leaf 0x40000000 was not read: $hv"
	fi
	expect_stderr_has "warning: running under a hypervisor"
}

@test "synclab env --fingerprint prints the fingerprint alone, the same on every run" {
	run --separate-stderr "$SYNCLAB" env --fingerprint
	expect_status 0
	[[ "$output" =~ ^[0-9a-f]{16}$ ]] || flunk "not 16 hex digits: $output"
	local fp=$output
	run --separate-stderr "$SYNCLAB" env
	[ "$(fact fingerprint)" = "$fp" ] || flunk "env says $(fact fingerprint), --fingerprint said $fp"
	run --separate-stderr "$SYNCLAB" env --fingerprint --quiet
	[ "$output" = "$fp" ] || flunk "second run: $output, first: $fp"
	expect_stderr_empty
}

@test "the fingerprint changes with the PUs a run may use" {
	command -v taskset >/dev/null || skip "no taskset"
	require_pu 0
	[ "$(nproc)" -ge 2 ] || skip "needs two usable PUs"
	local all one
	all=$("$SYNCLAB" env --fingerprint --quiet)
	one=$(taskset -c 0 "$SYNCLAB" env --fingerprint --quiet)
	[ "$all" != "$one" ] || flunk "taskset -c 0 gave the same fingerprint $all"
}

@test "synclab env --root reads a captured quiet box: its facts and no warning" {
	run --separate-stderr "$SYNCLAB" env --root "$DATA/quiet"
	expect_status 0
	expect_stderr_empty
	[ "$(fact host)" = quietbox ] || flunk "host: $(fact host)"
	[ "$(fact root)" = "$DATA/quiet" ] || flunk "root: $(fact root)"
	[ "$(fact governor)" = performance ] || flunk "governor: $(fact governor)"
	[ "$(fact boost)" = "off (intel_pstate/no_turbo=1)" ] || flunk "boost: $(fact boost)"
	[ "$(fact "isolated CPUs")" = 2-3 ] || flunk "isolated: $(fact "isolated CPUs")"
	[ "$(fact hypervisor)" = "none detected" ] || flunk "hypervisor: $(fact hypervisor)"
	[[ "$(fact "hardware counters")" == "not probed"* ]] || flunk "counters: $(fact "hardware counters")"
	[ "$(fact fingerprint)" = c3f57f85e3d1d267 ] || flunk "fingerprint: $(fact fingerprint)"
}

@test "synclab env --root reads a captured noisy VM and warns on stderr" {
	run --separate-stderr "$SYNCLAB" env --root "$DATA/noisy"
	expect_status 0
	expect_stderr_has "warning: frequency governor is 'powersave'" \
		"warning: boost is on" "warning: SMT is on" \
		"warning: running under a hypervisor (QEMU)" \
		"warning: transparent huge pages are 'always'" \
		"warning: load average 6.50 on 8 PUs" \
		"hint: no isolated CPUs" "hint: a hypervisor can also change a vCPU's speed mid-run"
	[ "$(grep -c . <<<"$stderr")" -eq 15 ] || flunk "expected 15 warning lines: $stderr"
	! grep -Ev '^(warning|hint): ' <<<"$stderr" || flunk "stderr has other lines"
	# Warnings never reach stdout, so it can be saved as it is.
	[[ "$output" != *"warning:"* ]] || flunk "a warning is on stdout"
	run --separate-stderr "$SYNCLAB" env --root "$DATA/noisy" --quiet
	expect_status 0
	expect_stderr_empty
}

@test "synclab env --root on an empty tree says unknown, not 0" {
	mkdir "$T/empty"
	run --separate-stderr "$SYNCLAB" env --root "$T/empty"
	expect_status 0
	expect_stderr_empty
	local k
	for k in kernel "PUs online" cores governor boost "transparent hugepages" \
		"isolated CPUs" perf_event_paranoid hypervisor "load average"; do
		[[ "$(fact "$k")" == unknown* ]] || flunk "$k: $(fact "$k")"
	done
}

@test "synclab env --output writes the environment file atomically, warnings included" {
	run --separate-stderr "$SYNCLAB" env --root "$DATA/noisy" --output "$T/sub/dir/env.txt"
	expect_status 0
	expect_stdout_empty
	[ -s "$T/sub/dir/env.txt" ] || flunk "no file written"
	head -n 1 "$T/sub/dir/env.txt" | grep -q '^# synclab environment' || flunk "no header comment"
	grep -qx 'fingerprint: *451be80b89914a26' "$T/sub/dir/env.txt" || flunk "fingerprint line missing"
	[ "$(grep -Ec '^(warning|hint): ' "$T/sub/dir/env.txt")" -eq 15 ] || flunk "warnings not in the file"
	[ "$(ls -A "$T/sub/dir")" = env.txt ] || flunk "left behind: $(ls -A "$T/sub/dir")"
	# Overwriting replaces the whole file.
	run --separate-stderr "$SYNCLAB" env --root "$DATA/quiet" --output "$T/sub/dir/env.txt" --quiet
	expect_status 0
	grep -qx 'fingerprint: *c3f57f85e3d1d267' "$T/sub/dir/env.txt" || flunk "not replaced"
	! grep -q noisyvm "$T/sub/dir/env.txt" || flunk "old contents remain"
}

@test "synclab env --help and synclab help env describe the options" {
	run --separate-stderr "$SYNCLAB" env --help
	expect_status 0
	expect_stderr_empty
	expect_stdout_has "usage: synclab env" "--root" "--output" "--fingerprint" "--measure" "--quiet"
	run --separate-stderr "$SYNCLAB" help env
	expect_status 0
	expect_stdout_has "usage: synclab env"
}

@test "synclab env usage errors exit 2 with one line and write nothing" {
	run --separate-stderr "$SYNCLAB" env --bogus
	expect_status 2
	expect_one_stderr_line
	expect_stdout_empty
	expect_stderr_has "'--bogus'"

	run --separate-stderr "$SYNCLAB" env --root "$T/no/such/tree"
	expect_status 2
	expect_one_stderr_line
	expect_stdout_empty
	expect_stderr_has "--root:" "$T/no/such/tree"

	run --separate-stderr "$SYNCLAB" env --root "$DATA/quiet/proc/loadavg"
	expect_status 2
	expect_stderr_has "is not a directory"

	run --separate-stderr "$SYNCLAB" env extra
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "'extra'"

	mkdir "$T/outdir"
	run --separate-stderr "$SYNCLAB" env --output "$T/outdir"
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "is a directory"

	run --separate-stderr "$SYNCLAB" env --output "$T/x.txt" --fingerprint
	expect_status 2
	expect_one_stderr_line
	[ ! -e "$T/x.txt" ] || flunk "a usage error wrote $T/x.txt"
}

@test "synclab env --measure adds the work loop's rate: 10th..90th percentile, rounds and median, in loops/us" {
	run --separate-stderr "$SYNCLAB" env --measure 60ms --quiet
	expect_status 0
	expect_stderr_empty
	line=$(grep '^work-loop rate: ' <<<"$output") || { show_run; flunk "no work-loop rate line"; }
	[[ "$line" =~ ^work-loop\ rate:\ +([0-9]+)\.\.([0-9]+)\ loops/us\ \(10th\.\.90th\ percentile\ of\ ([0-9]+)\ rounds\ of\ about\ 1\ ms\;\ median\ ([0-9]+)\)$ ]] ||
		{ show_run; flunk "unexpected line: $line"; }
	lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]} n=${BASH_REMATCH[3]} mid=${BASH_REMATCH[4]}
	[ "$lo" -gt 0 ] && [ "$lo" -le "$mid" ] && [ "$mid" -le "$hi" ] || flunk "percentiles out of order: $line"
	# 60 ms of rounds of about 1 ms (shorter when the clock rose after calibrating).
	[ "$n" -ge 5 ] && [ "$n" -le 200 ] || flunk "$n rounds in 60 ms: $line"
	# The facts come first, the measured lines after them.
	[ "$(tail -n 2 <<<"$output" | head -n 1)" = "$line" ] || flunk "the rate is not the last line but one"
}

@test "synclab env --measure times each usable PU in turn and names its median" {
	run --separate-stderr "$SYNCLAB" env --measure 40ms --quiet
	expect_status 0
	line=$(tail -n 1 <<<"$output")
	[[ "$line" =~ ^work-loop\ by\ PU:\ +(PU\ [0-9]+\ [0-9]+(,\ )?)+\ loops/us\ \(median\ of\ each\ PU\'s\ rounds,\ bound\ to\ it\ in\ turn\)$ ]] ||
		{ show_run; flunk "unexpected line: $line"; }
	local named usable
	named=$(grep -o 'PU [0-9]* [0-9]*' <<<"${line#work-loop by PU:}" | awk '{ print $2 }' | paste -sd, -)
	usable=$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0)))))')
	[ "$named" = "$usable" ] || flunk "PUs named: $named, usable: $usable"
	# Restricted to one PU, only that one is timed.
	run --separate-stderr taskset -c 0 "$SYNCLAB" env --measure 20ms --quiet
	expect_status 0
	[[ "$(tail -n 1 <<<"$output")" =~ ^work-loop\ by\ PU:\ +PU\ 0\ [0-9]+\ loops/us ]] ||
		{ show_run; flunk "not PU 0 alone"; }
}

@test "synclab env --measure times this machine only: with --root, --fingerprint or --output, or out of range, a usage error" {
	run --separate-stderr "$SYNCLAB" env --measure 50ms --root "$DATA/quiet"
	expect_status 2
	expect_one_stderr_line
	expect_stdout_empty
	expect_stderr_has "--measure times this machine, not a --root tree"
	run --separate-stderr "$SYNCLAB" env --measure 50ms --fingerprint
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--measure adds to the printed facts"
	run --separate-stderr "$SYNCLAB" env --measure 50ms --output "$T/e.txt"
	expect_status 2
	expect_one_stderr_line
	[ ! -e "$T/e.txt" ] || flunk "a usage error wrote $T/e.txt"
	run --separate-stderr "$SYNCLAB" env --measure 1ms
	expect_status 2
	expect_one_stderr_line
	expect_stderr_has "--measure: '1ms' is out of range (accepted: 10ms..100s)"
}
