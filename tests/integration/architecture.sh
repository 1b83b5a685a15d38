#!/usr/bin/env bash
# The module boundaries of DESIGN.md, enforced by the build: each component
# compiles with its own include path plus common/ only. A probe including
# another component's header must fail to compile with the flags the
# Makefile uses for that component; its own and common/ headers must work.
. "$(dirname "$0")/../lib.sh"
t_tmpdir

# component, one of its own headers
declare -A OWN=([common]=util.h [watchdog]=hwd_policy.h [pmon-hooks]=pmonhook.h [mtc]=mtc_codec.h)
compile_probe() { # component header -> exit status of cc
	local flags
	flags=$(make -s -C "$ROOT" --no-print-directory print-cflags-"$1") || return 2
	printf '#include "%s"\nint probe(void);\nint probe(void) { return 0; }\n' "$2" >"$T_DIR/probe.c"
	# shellcheck disable=SC2086 # the flags are a word list
	(cd "$ROOT" && cc $flags -c "$T_DIR/probe.c" -o "$T_DIR/probe.o") 2>"$T_DIR/cc.log"
}

for comp in common watchdog pmon-hooks mtc; do
	if [ "$comp" != common ]; then
		if compile_probe "$comp" "${OWN[$comp]}" && compile_probe "$comp" util.h; then
			t_ok "$comp sees its own headers and common/"
		else
			t_fail "$comp sees its own headers and common/"; cat "$T_DIR/cc.log"
		fi
	fi
	for other in watchdog pmon-hooks mtc; do
		[ "$other" = "$comp" ] && continue
		if compile_probe "$comp" "${OWN[$other]}"; then
			t_fail "$comp including ${OWN[$other]} ($other) builds: the boundary is not enforced"
		else
			t_check "$comp cannot include $other's ${OWN[$other]}" grep -q "No such file" "$T_DIR/cc.log"
		fi
	done
done

# The flags above are the ones the object rules really use.
line=$(make -C "$ROOT" -n -B BUILD="$BUILD/arch-probe" "$BUILD/arch-probe/obj/mtc/mtc_codec.o" 2>/dev/null | grep -- '-c mtc/mtc_codec.c')
t_match "mtc objects compile with -Icommon -Imtc only" '-Icommon -Imtc ' "$line"
if grep -qE -- '-I(watchdog|pmon-hooks)' <<<"$line"; then
	t_fail "... and not with another component's directory: $line"
else
	t_ok "... and not with another component's directory"
fi

# Distribution flags from the environment reach compile and link lines.
line=$(make -C "$ROOT" -n -B BUILD="$BUILD/arch-probe" CPPFLAGS=-DPROBE_CPP CFLAGS=-DPROBE_CFLAGS LDFLAGS=-Wl,-zprobe \
	"$BUILD/arch-probe/bin/mtcctl" 2>/dev/null)
t_match "CPPFLAGS and CFLAGS reach the compile lines" '-c mtc/mtcctl.c' "$(grep -- '-DPROBE_CPP -DPROBE_CFLAGS' <<<"$line")"
t_match "LDFLAGS reach the link line" '-Wl,-zprobe .*-o [^ ]*/bin/mtcctl' "$line"

# JSON (issue 15): jansson is linked by the binaries that write or read JSON
# and nothing else; libpmonhook, the library monitors link, stays free of it.
if [ -x "$BIN/mtcctl" ] && [ -e "$ROOT/$BUILD/lib/libpmonhook.so.0" ] && command -v readelf >/dev/null; then
	for f in bin/pmon-hook bin/mtcagent bin/mtcctl; do
		t_check "$f links jansson" sh -c "readelf -d '$ROOT/$BUILD/$f' | grep -q 'NEEDED.*libjansson'"
	done
	for f in bin/hostwd bin/mtcclient lib/libpmonhook.so.0; do
		t_check "$f does not link jansson" sh -c "! readelf -d '$ROOT/$BUILD/$f' | grep -q libjansson"
	done
else
	t_skip "jansson linkage: binaries not built (or no readelf)"
fi
# Every function common/ exports carries its module's prefix (the file
# name; health_wire.c: health_), like the rest of the tree.
bad=""
for o in "$ROOT/$BUILD"/obj/common/*.o; do
	m=$(basename "$o" .o); p=${m%%_*}_
	for s in $(nm -g --defined-only "$o" | awk 'NF == 3 {print $3}'); do
		case $s in "$p"*) ;; *) bad="$bad $m:$s" ;; esac
	done
done
if [ -z "$bad" ]; then t_ok "every global in common/ carries its module prefix"; else t_fail "common/ globals without their module prefix:$bad"; fi

# The agent's admin decision (issue 21): mtc_admin is pure (no log_*, sd_*,
# clock or system calls); the stores only store (they do not include the
# agent's header, so they cannot see its host table or send frames).
o="$ROOT/$BUILD/obj/mtc/mtc_admin.o"
if [ -e "$o" ]; then
	calls=$(nm -u "$o" | awk '{print $2}' | grep -vE '^(memset|memcpy|mtc_episode_[a-z_]+|__(asan|ubsan|sanitizer|stack_chk)[a-z_0-9]*)$' | tr '\n' ' ')
	t_check "mtc_admin.o calls nothing but memset and mtc_episode (pure): ${calls:-none}" test -z "$calls"
else
	t_skip "mtc_admin.o not built"
fi
inc=$(grep -l '#include "mtc_agent.h"' "$ROOT"/mtc/mtc_store*.c "$ROOT"/mtc/mtc_store*.h 2>/dev/null | tr '\n' ' ')
t_check "no store includes mtc_agent.h: ${inc:-none}" test -z "$inc"
t_done
