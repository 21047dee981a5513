# synclab check: invariant torture runs, their exit statuses and messages.
load helpers

@test "check passes a correct primitive and says so" {
	run --separate-stderr "$SYNCLAB" check mutex --duration 200ms
	expect_status 0
	grep -q '^ok  *mutex' <<<"$output" || { show_run; flunk "no ok line for mutex"; }
	grep -q '^1 passed, 0 failed' <<<"$output" || { show_run; flunk "no summary line"; }
}

@test "check catches the deliberately broken lock: exit 1, the violation named" {
	require_pu 1
	run --separate-stderr "$SYNCLAB" check broken-lock --duration 600ms
	expect_status 1
	grep -q '^FAIL  *broken-lock.*mutual exclusion violated' <<<"$output" || { show_run; flunk "no FAIL line naming the violation"; }
	grep -q '^0 passed, 1 failed' <<<"$output" || { show_run; flunk "no summary line"; }
}

@test "check with no names covers every visible primitive and no hidden one" {
	run --separate-stderr "$SYNCLAB" check --duration 50ms
	expect_status 0
	for p in $("$SYNCLAB" list | awk 'NR > 1 { print $1 }'); do
		grep -qE "^(ok|skip)  *$p " <<<"$output" || { show_run; flunk "$p was not checked"; }
	done
	! grep -q 'broken-lock' <<<"$output" || flunk "a hidden primitive was checked without --all"
}

@test "check --all includes the broken lock and so fails" {
	require_pu 1
	run --separate-stderr "$SYNCLAB" check --all --duration 400ms
	expect_status 1
	grep -q 'FAIL  *broken-lock' <<<"$output" || { show_run; flunk "broken-lock not caught"; }
}

@test "check refuses an unknown primitive with a suggestion, exit 2" {
	run --separate-stderr "$SYNCLAB" check mutx
	expect_status 2
	expect_stderr_has "unknown primitive 'mutx'"
	expect_stderr_has "did you mean 'mutex'"
}

@test "check refuses a primitive named twice, by name or alias, across arguments, before any round" {
	run --separate-stderr "$SYNCLAB" check mutex spin,mutex
	expect_status 2
	expect_stdout_empty
	expect_one_stderr_line
	expect_stderr_has "primitive 'mutex' named twice" "accepted: each primitive once"
	run --separate-stderr "$SYNCLAB" check spin-ttas,spin
	expect_status 2
	expect_stderr_has "primitive 'spin-ttas' named twice (as 'spin')"
}

@test "check needs at least two threads" {
	run --separate-stderr "$SYNCLAB" check mutex --threads 1
	expect_status 2
	expect_stderr_has "--threads: '1' is out of range"
}
