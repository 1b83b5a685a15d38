# hostwd-mtc: host watchdog, pmon hook and maintenance messenger.
# make              build everything into build/
# make check        build and run the whole test suite (ends "N passed, N failed")
# make asan         the same suite under ASan+UBSan (build/asan)
# make check STRESS=1 (or make asan STRESS=1): the suite under CPU hogs and a slow python3 start
# make demo         the locked-node scenario on loopback, unprivileged
# make install PREFIX=/usr DESTDIR=...

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

CC ?= cc
BASE_PKGS := libsystemd inih libsodium
# JSON in and out (pmon-hook status --json, mtcagent's list and etcd store,
# mtcctl): only the binaries that write or read JSON link it; hostwd,
# mtcclient and libpmonhook do not.
JSON_PKGS := jansson
# The agent's etcd store only (HTTP): not linked into hostwd or the client.
ETCD_PKGS := libcurl
PKGS := $(BASE_PKGS) $(JSON_PKGS) $(ETCD_PKGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(BASE_PKGS))
JSON_LIBS := $(shell pkg-config --libs $(JSON_PKGS))
ETCD_LIBS := $(shell pkg-config --libs $(ETCD_PKGS)) -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1 -g
else
BUILD ?= build
SAN_FLAGS :=
OPT := -O2 -g
endif

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wno-format-nonliteral -fPIC -DPROJECT_VERSION='"$(VERSION)"' $(OPT) $(SAN_FLAGS)
# The architecture, enforced by the include path: a component sees its own
# headers and common/ only, so watchdog <-> mtc, hook -> mtc or common -> any
# include fails to build (tests/integration/architecture.sh). Tests and tools
# see everything.
INC_common := -Icommon
INC_watchdog := -Icommon -Iwatchdog
INC_pmon-hooks := -Icommon -Ipmon-hooks
# mtc/ is rooms (mtc/*/README): each sees its own headers and the rooms
# below it. proto is pure (no system calls, clock or logging: it sees no
# common/ header and architecture.sh checks its objects with nm); io calls
# the system and returns -errno; a store does not see the agent's header.
MTC_ROOMS := proto io daemon agent/store agent client ctl
INC_mtc-proto := -Imtc/proto
INC_mtc-io := -Icommon -Imtc/proto -Imtc/io
INC_mtc-daemon := $(INC_mtc-io) -Imtc/daemon
INC_mtc-store := $(INC_mtc-io) -Imtc/agent/store
INC_mtc-agent := $(INC_mtc-daemon) -Imtc/agent/store -Imtc/agent
INC_mtc-client := $(INC_mtc-daemon) -Imtc/client
INC_mtc-ctl := $(INC_mtc-io) -Imtc/ctl
INC_tests := -Icommon -Iwatchdog -Ipmon-hooks $(patsubst %,-Imtc/%,$(MTC_ROOMS))
CPPFLAGS_ALL := $(INC_tests) $(PKG_CFLAGS)
# CPPFLAGS, CFLAGS and LDFLAGS from the environment come last, so a
# distribution's hardening (dpkg-buildflags: _FORTIFY_SOURCE, stack
# protector, relro/now) reaches every object and link.
comp_cflags = $(CFLAGS_BASE) $(INC_$(1)) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_CFLAGS = $(call comp_cflags,$(COMP))
ALL_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)
COMP = tests

OBJ := $(BUILD)/obj
BIN := $(BUILD)/bin
LIB := $(BUILD)/lib
TBIN := $(BUILD)/tests

COMMON_SRC := $(wildcard common/*.c)
HWD_LIB_SRC := watchdog/hwd_action.c watchdog/hwd_policy.c watchdog/hwd_report.c watchdog/hwd_device.c watchdog/hwd_config.c watchdog/hwd_metrics.c
PMH_LIB_SRC := pmon-hooks/pmonhook.c
PMH_EVAL_SRC := pmon-hooks/pmh_eval.c pmon-hooks/pmh_config.c pmon-hooks/pmh_json.c pmon-hooks/pmh_metrics.c
# The agent's own parts (they share its state, mtc/agent/mtc_agent.h): everything
# but main(), in libmtcagent.a, which mtcagent and the agent's unit test
# (tests/unit/test_mtc_agent.c: fake store, clock and sockets) link.
MTC_PROTO_SRC := $(wildcard mtc/proto/*.c)
MTC_IO_SRC := $(wildcard mtc/io/*.c)
MTC_DAEMON_SRC := $(wildcard mtc/daemon/*.c)
MTC_STORE_SRC := $(wildcard mtc/agent/store/*.c)
AGENT_SRC := $(filter-out mtc/agent/mtcagent_main.c,$(wildcard mtc/agent/*.c)) $(MTC_STORE_SRC)
MTC_LIB_SRC := $(MTC_PROTO_SRC) $(MTC_IO_SRC) $(MTC_DAEMON_SRC)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

COMMON_A := $(LIB)/libcommon.a
HWD_A := $(LIB)/libhwd.a
MTC_A := $(LIB)/libmtc.a
MTC_AGENT_A := $(LIB)/libmtcagent.a
PMH_A := $(LIB)/libpmonhook.a
PMH_SO := $(LIB)/libpmonhook.so.0
PMHE_A := $(LIB)/libpmheval.a

BINS := $(BIN)/hostwd $(BIN)/pmon-hook $(BIN)/mtcclient $(BIN)/mtcagent $(BIN)/mtcctl
TOOLS := $(TBIN)/notify-listen
UNIT_TESTS := $(patsubst tests/unit/%.c,$(TBIN)/%,$(wildcard tests/unit/test_*.c))

# Keep objects of test binaries (no "rm" after the summary, faster rebuilds).
.SECONDARY:

.PHONY: all check asan demo clean install uninstall tests fault bench bench-smoke fuzz fuzz-build valgrind
MANPAGES := $(BUILD)/man/hostwd.8 $(BUILD)/man/pmon-hook.8 $(BUILD)/man/mtcclient.8 $(BUILD)/man/mtcagent.8 \
	$(BUILD)/man/mtcctl.8 $(BUILD)/man/hostwd.conf.5 $(BUILD)/man/mtc.conf.5 $(BUILD)/man/pmon-hook.conf.5

all: $(BINS) $(PMH_SO) $(PMH_A) $(MANPAGES)

# Config pages: the KEYS section comes from the binaries' own tables.
$(BUILD)/man/%.8: man/%.8
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/man/hostwd.conf.5: man/hostwd.conf.5.in $(BIN)/hostwd scripts/gen-man-keys.sh
	@mkdir -p $(dir $@)
	$(BIN)/hostwd --describe-config > $@.tsv && bash scripts/gen-man-keys.sh $< $@.tsv $(VERSION) > $@
$(BUILD)/man/mtc.conf.5: man/mtc.conf.5.in $(BIN)/mtcclient scripts/gen-man-keys.sh
	@mkdir -p $(dir $@)
	$(BIN)/mtcclient --describe-config > $@.tsv && bash scripts/gen-man-keys.sh $< $@.tsv $(VERSION) > $@
$(BUILD)/man/pmon-hook.conf.5: man/pmon-hook.conf.5.in $(BIN)/pmon-hook scripts/gen-man-keys.sh
	@mkdir -p $(dir $@)
	$(BIN)/pmon-hook run --describe-config > $@.tsv && bash scripts/gen-man-keys.sh $< $@.tsv $(VERSION) > $@

# docs/operations.md's metric lists come from the daemons' own tables, as
# the man pages' key lists do (tests/integration/metrics.sh checks them).
.PHONY: metrics-doc
metrics-doc: $(BINS)
	bash scripts/gen-metrics-doc.sh $(BIN)

$(OBJ)/common/%.o: COMP = common
$(OBJ)/watchdog/%.o: COMP = watchdog
$(OBJ)/pmon-hooks/%.o: COMP = pmon-hooks
$(call objs,$(MTC_PROTO_SRC)): COMP = mtc-proto
$(call objs,$(MTC_IO_SRC)): COMP = mtc-io
$(call objs,$(MTC_DAEMON_SRC)): COMP = mtc-daemon
$(call objs,$(MTC_STORE_SRC)): COMP = mtc-store
$(call objs,$(filter-out $(MTC_STORE_SRC),$(AGENT_SRC)) mtc/agent/mtcagent_main.c): COMP = mtc-agent
$(OBJ)/mtc/client/%.o: COMP = mtc-client
$(OBJ)/mtc/ctl/%.o: COMP = mtc-ctl

# For the architecture test: the flags a component's sources compile with.
print-cflags-%:
	@echo $(call comp_cflags,$*)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

$(COMMON_A): $(call objs,$(COMMON_SRC))
$(HWD_A): $(call objs,$(HWD_LIB_SRC))
$(MTC_A): $(call objs,$(MTC_LIB_SRC))
$(MTC_AGENT_A): $(call objs,$(AGENT_SRC))
# The static library carries its helpers (common/kvtext, common/health_wire) as local symbols:
# one relocatable object with only pmh_* left global, so a monitor that links
# libpmonhook.a cannot clash with them.
$(PMH_A): $(call objs,$(PMH_LIB_SRC) common/kvtext.c common/health_wire.c)
	@mkdir -p $(dir $@)
	$(LD) -r -o $(OBJ)/libpmonhook-all.o $^
	objcopy --wildcard --keep-global-symbol='pmh_*' $(OBJ)/libpmonhook-all.o
	rm -f $@ && ar rcs $@ $(OBJ)/libpmonhook-all.o
$(PMHE_A): $(call objs,$(PMH_EVAL_SRC))
$(LIB)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(PMH_SO): $(call objs,$(PMH_LIB_SRC) common/kvtext.c common/health_wire.c)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libpmonhook.so.0 -Wl,--version-script=pmon-hooks/libpmonhook.map $(ALL_LDFLAGS) -o $@ $^
	ln -sf libpmonhook.so.0 $(LIB)/libpmonhook.so

# hostwd's daemon parts (watchdog/hostwd.h): linked into hostwd only.
HWD_DAEMON_SRC := watchdog/hostwd.c watchdog/hostwd_intake.c watchdog/hostwd_act.c watchdog/hostwd_status.c
$(BIN)/hostwd: $(call objs,$(HWD_DAEMON_SRC)) $(HWD_A) $(COMMON_A)
$(BIN)/pmon-hook: $(OBJ)/pmon-hooks/pmon-hook.o $(PMHE_A) $(PMH_A) $(COMMON_A)
$(BIN)/mtcclient: $(call objs,$(wildcard mtc/client/*.c)) $(MTC_A) $(COMMON_A)
$(BIN)/mtcagent: $(OBJ)/mtc/agent/mtcagent_main.o $(MTC_AGENT_A) $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) $(ETCD_LIBS)
$(BIN)/mtcctl: $(call objs,$(wildcard mtc/ctl/*.c)) $(MTC_A) $(COMMON_A)
$(BIN)/pmon-hook $(BIN)/mtcagent $(BIN)/mtcctl: LINK_JSON = $(JSON_LIBS)
$(BIN)/%:
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LINK_JSON)

# Unit tests link the real modules; each test_X.c is one cmocka binary.
$(TBIN)/test_%: $(OBJ)/tests/unit/test_%.o $(HWD_A) $(MTC_A) $(PMHE_A) $(PMH_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) $(ETCD_LIBS) $(CMOCKA_LIBS)

# The agent's seam: its library, with the clock and sendto wrapped.
$(TBIN)/test_mtc_agent: $(OBJ)/tests/unit/test_mtc_agent.o $(MTC_AGENT_A) $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--wrap=util_now_ms -Wl,--wrap=sendto -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) $(ETCD_LIBS) \
		$(CMOCKA_LIBS)

# The etcd store on its real loop and threads, every store file but its
# transport (mtc_store_etcd_http.c and _stream.c, libcurl): a fake of it answers.
STORE_NO_HTTP_SRC := $(filter-out mtc/agent/store/mtc_store_etcd_http.c mtc/agent/store/mtc_store_etcd_stream.c,$(MTC_STORE_SRC))
$(TBIN)/test_mtc_store_etcd: $(call objs,tests/unit/test_mtc_store_etcd.c tests/unit/store_etcd_harness.c \
		tests/unit/fake_etcd_http.c tests/unit/fake_etcd.c $(STORE_NO_HTTP_SRC)) $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) -lpthread $(CMOCKA_LIBS)

# The etcd writer over a fake transport (its etcd_post and the rest of
# mtc_store_etcd_http.c's functions): libcurl's file is not linked.
$(TBIN)/test_mtc_store_etcd_write: $(OBJ)/tests/unit/test_mtc_store_etcd_write.o $(MTC_AGENT_A) $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--wrap=util_now_ms -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)

# The device test fakes the driver with --wrap; fortify would bypass it.
$(OBJ)/tests/unit/test_hwd_device.o: ALL_CFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0
$(OBJ)/watchdog/hwd_device_wrap.o: watchdog/hwd_device.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -c $< -o $@
$(TBIN)/test_hwd_device: $(OBJ)/tests/unit/test_hwd_device.o $(OBJ)/watchdog/hwd_device_wrap.o $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--wrap=ioctl -Wl,--wrap=write -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# The etcd store's shared token (mtc_store_etcd_auth.c) alone: no etcd, no
# transport, no loop.
$(TBIN)/test_mtc_store_etcd_auth: $(call objs,tests/unit/test_mtc_store_etcd_auth.c \
		mtc/agent/store/mtc_store_etcd_auth.c) $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS) -lpthread $(CMOCKA_LIBS)

$(TBIN)/%: $(OBJ)/tests/tools/%.o $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

BENCH_BINS := $(patsubst tests/bench/%.c,$(TBIN)/%,$(wildcard tests/bench/bench_*.c))

$(TBIN)/bench_%: $(OBJ)/tests/bench/bench_%.o $(MTC_A) $(COMMON_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

tests: all $(UNIT_TESTS) $(TOOLS) $(BENCH_BINS)

# STRESS=1: CPU hogs and a slow python3 start during the run (tests/run-all.sh);
# reaches `make asan` too (a command-line variable goes down to sub-makes).
STRESS ?= 0
check: tests
	BUILD=$(BUILD) STRESS=$(STRESS) bash tests/run-all.sh

asan:
	$(MAKE) --no-print-directory SANITIZE=1 check

demo: all
	BUILD=$(BUILD) bash tests/demo.sh

fault: all
	BUILD=$(BUILD) FULL=1 bash tests/fault/matrix.sh

valgrind: tests
	BUILD=$(BUILD) bash tests/valgrind.sh

bench: tests
	BUILD=$(BUILD) bash tests/bench/run.sh

bench-smoke: tests
	BUILD=$(BUILD) SMOKE=1 bash tests/bench/run.sh

clean:
	rm -rf build

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/hostwd $(DESTDIR)$(SYSCONFDIR)/mtc \
		$(DESTDIR)$(SYSCONFDIR)/pmon-hook
	install -m 0755 $(BIN)/hostwd $(BIN)/mtcclient $(BIN)/mtcagent $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BIN)/pmon-hook $(BIN)/mtcctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(PMH_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(PMH_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libpmonhook.so.0 $(DESTDIR)$(PREFIX)/lib/libpmonhook.so
	install -m 0644 pmon-hooks/pmonhook.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pmon-hooks/libpmonhook.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/libpmonhook.pc
	for u in conf/*.service; do sed 's|@SBINDIR@|$(PREFIX)/sbin|g; s|@BINDIR@|$(PREFIX)/bin|g' $$u \
		> $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	install -m 0644 conf/hostwd-mtc.tmpfiles $(DESTDIR)$(TMPFILESDIR)/hostwd-mtc.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/hostwd/hostwd.conf || install -m 0644 conf/hostwd.conf $(DESTDIR)$(SYSCONFDIR)/hostwd/
	test -e $(DESTDIR)$(SYSCONFDIR)/mtc/mtc.conf || install -m 0644 conf/mtc.conf $(DESTDIR)$(SYSCONFDIR)/mtc/
	test -e $(DESTDIR)$(SYSCONFDIR)/mtc/hosts.conf || install -m 0644 conf/hosts.conf $(DESTDIR)$(SYSCONFDIR)/mtc/
	test -e $(DESTDIR)$(SYSCONFDIR)/pmon-hook/pmon-hook.conf || install -m 0644 conf/pmon-hook.conf $(DESTDIR)$(SYSCONFDIR)/pmon-hook/
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	# Prometheus alert rules for the [metrics] textfiles (docs/operations.md).
	install -d $(DESTDIR)$(PREFIX)/share/hostwd-mtc
	install -m 0644 conf/prometheus/hostwd-mtc-rules.yml $(DESTDIR)$(PREFIX)/share/hostwd-mtc/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/hostwd $(DESTDIR)$(PREFIX)/sbin/mtcclient $(DESTDIR)$(PREFIX)/sbin/mtcagent \
		$(DESTDIR)$(PREFIX)/bin/pmon-hook $(DESTDIR)$(PREFIX)/bin/mtcctl \
		$(DESTDIR)$(PREFIX)/lib/libpmonhook.a $(DESTDIR)$(PREFIX)/lib/libpmonhook.so* \
		$(DESTDIR)$(PREFIX)/include/pmonhook.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/libpmonhook.pc \
		$(DESTDIR)$(UNITDIR)/hostwd.service $(DESTDIR)$(UNITDIR)/mtcclient.service \
		$(DESTDIR)$(UNITDIR)/mtcagent.service $(DESTDIR)$(UNITDIR)/pmon-hook.service \
		$(DESTDIR)$(TMPFILESDIR)/hostwd-mtc.conf $(DESTDIR)$(PREFIX)/share/hostwd-mtc/hostwd-mtc-rules.yml
	-rmdir $(DESTDIR)$(PREFIX)/share/hostwd-mtc 2>/dev/null
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m); done

# libFuzzer targets (clang): decoders of bytes from the network or a file.
FUZZ_CC := clang
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS_ALL)
# The same module lists as the libraries, so a new module needs no second entry.
FUZZ_LIB_SRC := $(COMMON_SRC) $(HWD_LIB_SRC) $(PMH_LIB_SRC) $(PMH_EVAL_SRC) $(MTC_LIB_SRC)
FUZZ_TARGETS := mtc_decode health conf
FUZZ_SECONDS ?= 60

fuzz-build: $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(PKG_LIBS) $(JSON_LIBS) $(ETCD_LIBS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/smoke.sh

# Real parts (issue 12): a real kernel and watchdog card in QEMU, a real
# systemd in a container. Both also run in `make check` (skipped without
# their tools or root).
.PHONY: vm vm-crash system
vm: all
	BUILD=$(BUILD) bash tests/vm/vm.sh

# The crash-kernel boots (issue 19), each over a minute under TCG: their
# own target, so that make vm stays within its time.
vm-crash: all
	BUILD=$(BUILD) VM_SCENARIOS="crashdump crashcut" bash tests/vm/vm.sh

system: all
	BUILD=$(BUILD) bash tests/system/system.sh
