#!/usr/bin/env bash
# The module boundaries of DESIGN.md, enforced by the build: each component
# compiles with its own include path plus common/ only. A probe including
# another component's header must fail to compile with the flags the
# Makefile uses for that component; its own and common/ headers must work.
. "$(dirname "$0")/../lib.sh"
t_tmpdir

# component, one of its own headers
declare -A OWN=([common]=util.h [watchdog]=hwd_policy.h [pmon-hooks]=pmonhook.h [mtc-agent]=mtc_agent.h)
compile_probe() { # component header -> exit status of cc
	local flags
	flags=$(make -s -C "$ROOT" --no-print-directory print-cflags-"$1") || return 2
	printf '#include "%s"\nint probe(void);\nint probe(void) { return 0; }\n' "$2" >"$T_DIR/probe.c"
	# shellcheck disable=SC2086 # the flags are a word list
	(cd "$ROOT" && cc $flags -c "$T_DIR/probe.c" -o "$T_DIR/probe.o") 2>"$T_DIR/cc.log"
}

for comp in common watchdog pmon-hooks mtc-agent; do
	if [ "$comp" != common ]; then
		if compile_probe "$comp" "${OWN[$comp]}" && compile_probe "$comp" util.h; then
			t_ok "$comp sees its own headers and common/"
		else
			t_fail "$comp sees its own headers and common/"; cat "$T_DIR/cc.log"
		fi
	fi
	for other in watchdog pmon-hooks mtc-agent; do
		[ "$other" = "$comp" ] && continue
		if compile_probe "$comp" "${OWN[$other]}"; then
			t_fail "$comp including ${OWN[$other]} ($other) builds: the boundary is not enforced"
		else
			t_check "$comp cannot include $other's ${OWN[$other]}" grep -q "No such file" "$T_DIR/cc.log"
		fi
	done
done

# mtc/'s rooms (issue 21, mtc/*/README): a room sees its own headers and
# the rooms below it, never one beside or above it. room, own header.
declare -A ROOM=([mtc-proto]=mtc_codec.h [mtc-io]=mtc_config.h [mtc-daemon]=mtc_daemon.h [mtc-store]=mtc_store.h
	[mtc-agent]=mtc_agent.h [mtc-client]=mtc_daemon.h [mtc-ctl]=mtc_config.h)
declare -A DENY=([mtc-proto]="util.h log.h mtc_config.h mtc_net.h mtc_daemon.h mtc_store.h mtc_agent.h"
	[mtc-io]="mtc_daemon.h mtc_store.h mtc_agent.h" [mtc-daemon]="mtc_store.h mtc_agent.h"
	[mtc-store]="mtc_agent.h mtc_daemon.h" [mtc-client]="mtc_agent.h mtc_store.h" [mtc-ctl]="mtc_daemon.h mtc_agent.h mtc_store.h")
for room in "${!ROOM[@]}"; do
	if compile_probe "$room" "${ROOM[$room]}"; then t_ok "$room sees its own ${ROOM[$room]}"
	else t_fail "$room sees its own ${ROOM[$room]}"; cat "$T_DIR/cc.log"; fi
	for h in ${DENY[$room]:-}; do
		if compile_probe "$room" "$h"; then t_fail "$room including $h builds: the room's rule is not enforced"
		else t_check "$room cannot include $h" grep -q "No such file" "$T_DIR/cc.log"; fi
	done
done

# The flags above are the ones the object rules really use.
line=$(make -C "$ROOT" -n -B BUILD="$BUILD/arch-probe" "$BUILD/arch-probe/obj/mtc/proto/mtc_codec.o" 2>/dev/null | grep -- '-c mtc/proto/mtc_codec.c')
t_match "mtc/proto objects compile with -Imtc/proto only" ' -Imtc/proto -I' "$line"
if grep -qE -- '-I(watchdog|pmon-hooks|common|mtc/io)' <<<"$line"; then
	t_fail "... and not with another component's directory: $line"
else
	t_ok "... and not with another component's directory"
fi

# Distribution flags from the environment reach compile and link lines.
line=$(make -C "$ROOT" -n -B BUILD="$BUILD/arch-probe" CPPFLAGS=-DPROBE_CPP CFLAGS=-DPROBE_CFLAGS LDFLAGS=-Wl,-zprobe \
	"$BUILD/arch-probe/bin/mtcctl" 2>/dev/null)
t_match "CPPFLAGS and CFLAGS reach the compile lines" '-c mtc/ctl/mtcctl.c' "$(grep -- '-DPROBE_CPP -DPROBE_CFLAGS' <<<"$line")"
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

# The pure room (issue 21): mtc/proto's objects reference no logging, no
# systemd, no clock and no system call.
IMPURE='^(log_[a-z_]*|sd_[a-z_]*|util_[a-z_]*|fileops_[a-z_]*|open|openat|close|read|write|pread|pwrite|socket|bind|connect|listen|accept4?|send|sendto|sendmsg|recv|recvfrom|recvmsg|clock_gettime|time|gettimeofday|fopen|fclose|fread|fwrite|printf|fprintf|syslog|ioctl|unlink|rename|fsync|stat|fstat|mkdir|getpid|kill|poll|epoll_[a-z_]*|randombytes_[a-z_]*)$'
objs=$(ls "$ROOT/$BUILD"/obj/mtc/proto/*.o 2>/dev/null | wc -l)
if [ "$objs" -ge 7 ]; then
	bad=""
	for o in "$ROOT/$BUILD"/obj/mtc/proto/*.o; do
		for s in $(nm -u "$o" | awk '{print $2}' | grep -E "$IMPURE"); do bad="$bad $(basename "$o"):$s"; done
	done
	t_check "mtc/proto's $objs objects call no log_*, sd_*, clock or system call:${bad:- none}" test -z "$bad"
else
	t_skip "mtc/proto objects not built"
fi

# The io room calls the system and returns -errno; it does not log.
bad=""
for o in "$ROOT/$BUILD"/obj/mtc/io/*.o; do
	[ -e "$o" ] || continue
	for s in $(nm -u "$o" | awk '{print $2}' | grep -E '^(log_|sd_)'); do bad="$bad $(basename "$o"):$s"; done
done
t_check "mtc/io's objects do not log (no log_*, sd_*):${bad:- none}" test -z "$bad"

# The agent's admin decision (issue 21): mtc_admin is pure (no log_*, sd_*,
# clock or system calls); the stores only store (they do not include the
# agent's header, so they cannot see its host table or send frames).
o="$ROOT/$BUILD/obj/mtc/proto/mtc_admin.o"
if [ -e "$o" ]; then
	calls=$(nm -u "$o" | awk '{print $2}' | grep -vE '^(memset|memcpy|mtc_episode_[a-z_]+|__(asan|ubsan|sanitizer|stack_chk)[a-z_0-9]*|_GLOBAL_OFFSET_TABLE_)$' | tr '\n' ' ')
	t_check "mtc_admin.o calls nothing but memset and mtc_episode (pure): ${calls:-none}" test -z "$calls"
else
	t_skip "mtc_admin.o not built"
fi
inc=$(grep -l '#include "mtc_agent.h"' "$ROOT"/mtc/agent/store/*.[ch] 2>/dev/null | tr '\n' ' ')
t_check "no store includes mtc_agent.h: ${inc:-none}" test -z "$inc"
# Sizes (issue 21): no function over 50 lines, no .c file over 500, in
# every source directory (scripts/func-lengths.sh's default).
long=$(cd "$ROOT" && bash scripts/func-lengths.sh -n 100000 | awk '$1 > 50' | tr '\n' ' ')
t_check "no function over 50 lines: ${long:-none}" test -z "$long"
big=$(cd "$ROOT" && find common watchdog pmon-hooks mtc -name '*.c' -exec wc -l {} + | awk '$2 != "total" && $1 > 500' | tr '\n' ' ')
t_check "no .c file over 500 lines: ${big:-none}" test -z "$big"
t_done
