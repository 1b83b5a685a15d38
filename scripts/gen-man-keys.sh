#!/usr/bin/env bash
# Render a config table (the TSV printed by --describe-config) as roff and
# splice it into a man page template at the line "@KEYS@".
# Usage: gen-man-keys.sh TEMPLATE TSV VERSION > PAGE
set -euo pipefail
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/-/\\-/g'; }
keys() {
	local cur=""
	while IFS=$'\t' read -r sec key type def range help; do
		if [ "$sec" != "$cur" ]; then
			printf '.SS [%s]\n' "$sec"
			cur=$sec
		fi
		printf '.TP\n.B %s\n' "$(esc <<<"$key")"
		printf '%s; default \\fB%s\\fR; %s.\n' "$type" "$( [ -n "$def" ] && esc <<<"$def" || echo '(empty)')" "$(esc <<<"$range")"
		printf '.br\n%s\n' "$(esc <<<"$help")"
	done <"$2"
}
while IFS= read -r line; do
	if [ "$line" = "@KEYS@" ]; then keys "$1" "$2"; else printf '%s\n' "${line//@VERSION@/$3}"; fi
done <"$1"
