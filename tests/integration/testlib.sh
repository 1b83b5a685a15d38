#!/usr/bin/env bash
# The test library's own cleanup (tests/lib.sh): it runs in the test's own
# shell only, never in a child killed before its exec (such a child is a
# copy of the shell, EXIT trap and all: pmonhook.sh's pid-reuse loop once
# removed its own test dir that way), and it still runs when a test exits
# early.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
# A SIGTERM that lands before the child's exec can also be lost (the
# child then runs its sleep to the end): 1 s each, 50 of them.
for _ in $(seq 1 50); do /bin/sleep 1 & R=$!; kill "$R"; wait "$R" 2>/dev/null; done
t_check "the test's dir survives 50 children killed by SIGTERM right after their fork" test -d "$T_DIR"
out=$(bash -c '. "$1/tests/lib.sh"; t_tmpdir; echo "$T_DIR"; exit 3' _ "$ROOT")
t_check "a test that exits early still removes its dir ($out)" sh -c "test -n '$out' && ! test -e '$out'"
t_done
