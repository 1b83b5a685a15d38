#!/bin/bash
# Function lengths, longest first: "lines file:line name". A function is a
# body opened by "{" and closed by "}" in column 0 (the project's style);
# its length counts the signature's first line through the closing brace.
# Usage: scripts/func-lengths.sh [-n N] [FILE|DIR...]
# (default: every source directory, recursive: common watchdog pmon-hooks mtc;
# top 10)
set -euo pipefail
top=10
if [ "${1:-}" = "-n" ]; then top=$2; shift 2; fi
[ $# -gt 0 ] || set -- common watchdog pmon-hooks mtc
find "$@" -name '*.c' | sort | xargs awk '
FNR == 1 { sig = 0; inbody = 0 }
!inbody && /^[A-Za-z_]/ && /\(/ && !/;[ \t]*$/ { sig = FNR; line = $0 }
!inbody && /^\{/ && sig { inbody = 1; start = sig
	name = line; sub(/\(.*/, "", name); n = split(name, w, /[ \t*]+/); name = w[n] }
inbody && /^\}/ { printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, start, name; inbody = 0; sig = 0 }
' | sort -k1,1nr -k2 | head -n "$top"
