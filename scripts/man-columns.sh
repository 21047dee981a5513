#!/bin/sh
# Rewrite the CSV COLUMNS list of man/synclab.1 from reports/columns.def,
# the single source of the columns (tests/cli/docs.bats checks the two agree).
# Run from the project's root after adding or changing a column.
set -eu
man=man/synclab.1
def=reports/columns.def
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

awk -v def="$def" '
function emit(   line, name, unit, doc) {
	while ((getline line < def) > 0) {
		if (line !~ /^SL_COL\(/)
			continue
		sub(/^SL_COL\(/, "", line)
		name = line; sub(/,.*/, "", name)
		sub(/^[^,]*, "/, "", line)
		unit = line; sub(/".*/, "", unit)
		sub(/^[^"]*", "/, "", line)
		doc = line; sub(/"\)[ \t]*$/, "", doc)
		gsub(/-/, "\\-", doc)
		print ".TP"
		print ".B " name
		print (unit != "" ? "(" unit ") " : "") doc
	}
}
/^\.SH CSV COLUMNS/ { print; incols = 1; next }
incols && /prints the same list\.$/ { print; emit(); skip = 1; next }
skip && /^\.SH / { skip = 0; incols = 0 }
skip { next }
{ print }
' "$man" > "$tmp"
cat "$tmp" > "$man"
