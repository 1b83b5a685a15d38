#!/usr/bin/env bash
# Regression for the field failure (StarlingX bug 2103863) on loopback with
# FIT-failed networks. The netns variant is tests/integration/seed_netns.sh.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/seed-scenario.sh"
. "$ROOT/tests/seed-fit.sh"
t_tmpdir
D=$T_DIR
SEED_LABEL="seed/fit" seed_scenario
echo "timeline:"
seed_timeline
t_done
