#!/usr/bin/env bash
# dpkg-buildpackage -b in a scratch copy of the tracked tree; lintian shows
# no errors; the packages hold what they should; hostwd ships disarmed and
# no unit is started at install.
. "$(dirname "$0")/../lib.sh"
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
	t_skip "debian packaging: skipped: debhelper not installed"
	t_done; exit 0
fi
t_tmpdir
SRC=$T_DIR/hostwd-mtc-0.1.0
mkdir -p "$SRC"
(cd "$ROOT" && { git ls-files --cached --others --exclude-standard 2>/dev/null || find . -type f ! -path './build/*' ! -path './.git/*'; } | tar -cf - -T -) | tar -xf - -C "$SRC"
# A clean make environment: `make asan` exports SANITIZE=1 through MAKEFLAGS.
(cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u BUILD dpkg-buildpackage -b -us -uc) \
	>"$T_DIR/build.log" 2>&1
rc=$?
t_check "dpkg-buildpackage -b -us -uc succeeds (rc=$rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || tail -30 "$T_DIR/build.log"
for p in hostwd-mtc libpmonhook0 libpmonhook-dev; do
	t_check "built $p" test -f "$T_DIR/${p}_0.1.0_amd64.deb"
done
if command -v lintian >/dev/null; then
	# TMPDIR: lintian leaves its MLDBM caches (mldbm-elf-*) behind in /tmp.
	mkdir -p "$T_DIR/tmp"
	TMPDIR=$T_DIR/tmp lintian "$T_DIR"/hostwd-mtc_0.1.0_amd64.changes >"$T_DIR/lintian.log" 2>&1
	errors=$(grep -c '^E:' "$T_DIR/lintian.log")
	t_check "lintian: no errors ($errors)" test "$errors" -eq 0
	grep '^[EW]:' "$T_DIR/lintian.log"
else
	t_skip "lintian not installed"
fi
deb=$T_DIR/hostwd-mtc_0.1.0_amd64.deb
list=$(dpkg -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/hostwd ./usr/sbin/mtcclient ./usr/sbin/mtcagent ./usr/bin/mtcctl ./usr/bin/pmon-hook \
	./lib/systemd/system/hostwd.service ./usr/lib/tmpfiles.d/hostwd-mtc.conf ./etc/mtc/mtc.conf \
	./usr/share/man/man5/hostwd.conf.5.gz ./usr/share/hostwd-mtc/hostwd-mtc-rules.yml; do
	grep -qx -- "$f" <<<"$list" || t_fail "hostwd-mtc lacks $f"
done
t_ok "hostwd-mtc contents checked"
conf=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/hostwd/hostwd.conf)
t_match "packaged hostwd.conf has no kernel watchdog device until configured" '^device =$' "$conf"
t_match "packaged hostwd.conf only logs quorum failures until configured" '^on_quorum_failure = log$' "$conf"
mkdir -p "$T_DIR/ctrl"; dpkg-deb -e "$deb" "$T_DIR/ctrl"
t_check "postinst enables units" grep -q "deb-systemd-helper enable 'hostwd.service'" "$T_DIR/ctrl/postinst"
# jansson reaches the runtime dependencies through shlibs, for
# pmon-hook/mtcagent/mtcctl only: libpmonhook0 does not depend on it.
t_match "hostwd-mtc depends on libjansson4 (shlibs)" 'libjansson4' "$(dpkg-deb -f "$deb" Depends)"
t_check "libpmonhook0 does not depend on libjansson4" \
	sh -c "! dpkg-deb -f '$T_DIR/libpmonhook0_0.1.0_amd64.deb' Depends | grep -q jansson"
t_check "postinst starts nothing" sh -c "! grep -q 'deb-systemd-invoke.*start' '$T_DIR/ctrl/postinst'"
# dpkg-buildflags' hardening reaches every compile and link line (blhc reads
# the build log) and shows in the binaries shipped.
if command -v blhc >/dev/null; then
	# The --wrap unit test of the device ops is built without fortify on
	# purpose (fortify bypasses the wraps); it is never shipped.
	blhc --bindnow --arch "$(dpkg --print-architecture)" \
		--ignore-line '.*-c (tests/unit/test_hwd_device\.c|watchdog/hwd_device\.c -o build/obj/watchdog/hwd_device_wrap\.o).*' \
		"$T_DIR/build.log" >"$T_DIR/blhc.log" 2>&1
	t_check "blhc: every compile and link line carries the distribution's hardening flags" test $? -eq 0
	head -5 "$T_DIR/blhc.log"
else
	t_skip "blhc not installed"
fi
mkdir -p "$T_DIR/x"; dpkg-deb -x "$deb" "$T_DIR/x"
for b in usr/sbin/hostwd usr/sbin/mtcclient usr/sbin/mtcagent usr/bin/mtcctl usr/bin/pmon-hook; do
	f=$T_DIR/x/$b
	miss=""
	readelf -h "$f" | grep -q 'Type:.*DYN' || miss="$miss PIE"
	readelf -lW "$f" | grep -q 'GNU_RELRO' || miss="$miss RELRO"
	readelf -dW "$f" | grep -qE 'BIND_NOW|FLAGS_1.*NOW' || miss="$miss BIND_NOW"
	readelf --dyn-syms -W "$f" | grep -q '__stack_chk_fail' || miss="$miss stack-protector"
	readelf --dyn-syms -W "$f" | grep -qE '__[a-z_]+_chk@' || miss="$miss FORTIFY"
	if [ -z "$miss" ]; then t_ok "$b: PIE, relro, bind-now, stack protector, fortify"; else t_fail "$b lacks:$miss"; fi
done
t_check "libpmonhook0 exports only pmh_*" sh -c "dpkg-deb --fsys-tarfile '$T_DIR/libpmonhook0_0.1.0_amd64.deb' | tar -xOf - ./usr/lib/libpmonhook.so.0 > '$T_DIR/so' && ! nm -D --defined-only '$T_DIR/so' | awk '{print \$3}' | grep -v '^pmh_\|^LIBPMONHOOK_0' | grep -q ."
t_done
