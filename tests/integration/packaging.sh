#!/usr/bin/env bash
# make install into a temp DESTDIR: the tree, configs not overwritten,
# libpmonhook usable through pkg-config, man pages covering every key,
# systemd units verified and their exposure scores held, make uninstall.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
DEST=$T_DIR/root
make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$DEST" PREFIX=/usr >"$T_DIR/install.log" 2>&1
t_check "make install succeeds" test $? -eq 0
for f in usr/sbin/hostwd usr/sbin/mtcclient usr/sbin/mtcagent usr/bin/pmon-hook usr/bin/mtcctl \
	usr/lib/libpmonhook.a usr/lib/libpmonhook.so.0 usr/lib/libpmonhook.so usr/include/pmonhook.h \
	usr/lib/pkgconfig/libpmonhook.pc usr/lib/systemd/system/hostwd.service usr/lib/systemd/system/mtcclient.service \
	usr/lib/systemd/system/mtcagent.service usr/lib/systemd/system/pmon-hook.service usr/lib/tmpfiles.d/hostwd-mtc.conf \
	etc/hostwd/hostwd.conf etc/mtc/mtc.conf etc/mtc/hosts.conf etc/pmon-hook/pmon-hook.conf \
	usr/share/man/man8/hostwd.8 usr/share/man/man8/pmon-hook.8 usr/share/man/man8/mtcclient.8 \
	usr/share/man/man8/mtcagent.8 usr/share/man/man8/mtcctl.8 usr/share/man/man5/hostwd.conf.5 \
	usr/share/man/man5/mtc.conf.5 usr/share/man/man5/pmon-hook.conf.5 usr/share/hostwd-mtc/hostwd-mtc-rules.yml; do
	[ -e "$DEST/$f" ] || { t_fail "installed: $f missing"; continue; }
done
t_ok "installed tree checked (29 paths)"
t_check "units point at the installed binaries" grep -q '^ExecStart=/usr/sbin/hostwd ' "$DEST/usr/lib/systemd/system/hostwd.service"

echo "# local change" >>"$DEST/etc/hostwd/hostwd.conf"
make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1
t_check "reinstall keeps a modified config" grep -q '# local change' "$DEST/etc/hostwd/hostwd.conf"

# libpmonhook through pkg-config, static, as a monitor would link it.
cat >"$T_DIR/mon.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <pmonhook.h>
int main(int argc, char **argv) {
	pmh *h;
	int r = pmh_open(argv[1], &h);
	if (r < 0) return 1;
	r = pmh_report(h, true, true, NULL);
	pmh_close(h);
	printf("%d\n", r);
	return r == -ENOENT ? 0 : 1;
}
C
export PKG_CONFIG_PATH=$DEST/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST
# A sanitizer build's library needs its runtime in the program too.
SAN=""
readelf -d "$DEST/usr/lib/libpmonhook.so.0" | grep -q 'libasan' && SAN="-fsanitize=address,undefined"
cc $SAN $(pkg-config --cflags libpmonhook) -o "$T_DIR/mon" "$T_DIR/mon.c" $(pkg-config --libs libpmonhook) 2>"$T_DIR/cc.log"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
# Helpers linked into the static library are local: only pmh_* is global.
t_check "libpmonhook.a defines no global symbol but pmh_*" sh -c \
	"! nm -g --defined-only '$DEST/usr/lib/libpmonhook.a' | awk 'NF == 3 {print \$3}' | grep -v '^pmh_' | grep -q ."
t_check "a monitor builds against the installed libpmonhook via pkg-config" test -x "$T_DIR/mon"
t_check "... runs on the shared library and reports 'hostwd not running' as -ENOENT" \
	env LD_LIBRARY_PATH="$DEST/usr/lib" "$T_DIR/mon" "$T_DIR/no.sock"

# Man pages: every config key of every table appears in its page.
for pair in "hostwd:hostwd.conf.5:" "mtcclient:mtc.conf.5:" "pmon-hook:pmon-hook.conf.5:run"; do
	IFS=: read -r bin page sub <<<"$pair"
	missing=""
	while IFS=$'\t' read -r sec key _; do
		grep -q "^\.B $(sed 's/-/\\\\-/g' <<<"$key")$" "$DEST/usr/share/man/man5/$page" || missing="$missing [$sec] $key"
	done < <("$BIN/$bin" $sub --describe-config)
	t_check "$page documents every key of its table${missing:+ (missing:$missing)}" test -z "$missing"
done
for m in "$DEST"/usr/share/man/man[58]/*; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || t_fail "$(basename "$m") renders with warnings: $w"
done
t_ok "man pages render (man -l) without warnings"

# systemd units: verification and exposure scores.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T_DIR/units"
	for u in "$DEST"/usr/lib/systemd/system/*.service; do
		sed "s|=/usr/sbin/|=$DEST/usr/sbin/|; s|=/usr/bin/pmon-hook|=$DEST/usr/bin/pmon-hook|" "$u" >"$T_DIR/units/$(basename "$u")"
	done
	out=$(cd "$T_DIR/units" && systemd-analyze verify --man=no ./*.service 2>&1)
	t_check "systemd-analyze verify: clean${out:+ ($out)}" test -z "$out"
	for pair in hostwd:4.0 mtcclient:2.0 mtcagent:2.0 pmon-hook:2.0; do
		u=${pair%%:*} max=${pair##*:}
		score=$(cd "$T_DIR/units" && systemd-analyze security --offline=true "./$u.service" 2>/dev/null |
			sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
		t_check "$u.service exposure ${score:-?} <= $max" awk -v s="${score:-99}" -v m="$max" 'BEGIN { exit !(s <= m) }'
	done
else
	t_skip "systemd-analyze not installed: unit checks skipped"
fi

# Every MESSAGE_ID the code emits is documented for operators.
undocumented=""
for id in $(grep -o '"[0-9a-f]\{32\}"' "$ROOT/common/log.h" | tr -d '"'); do
	grep -q "$id" "$ROOT/docs/operations.md" || undocumented="$undocumented $id"
done
t_check "docs/operations.md lists every MESSAGE_ID${undocumented:+ (missing:$undocumented)}" test -z "$undocumented"

make -s -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$DEST" PREFIX=/usr >/dev/null 2>&1
left=$(find "$DEST" -type f ! -path '*/etc/*' | wc -l)
t_check "make uninstall removes everything but configs ($left files left)" test "$left" -eq 0
t_done
