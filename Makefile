# natlab — `make` builds, `make check` installs what is missing and runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
PYTEST  ?= /usr/bin/python3 -m pytest
JOBS    ?= 4

PKGS     = libnl-3.0 libnl-route-3.0 libmnl libnetfilter_conntrack libnftables inih jansson libpcap
# libre (STUN) is loaded at run time (common/libre.h says why): its headers only
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) libre 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
# natlab loads libpcap, libnftables and libnetfilter_conntrack when a command needs
# them (common/dl.h says why)
NATLAB_PKGS = $(filter-out libnftables libpcap libnetfilter_conntrack,$(PKGS))
# The libraries Debian ships as archives too are linked in, not loaded at every
# start (natlab starts twice a lab, the prober twice an attempt; a loaded library
# costs its mappings and relocations, common/dl.h): 0.2-0.3 ms a start here.
# STATIC_LIBS= links every library dynamically (for a distribution's package).
STATIC_LIBS ?= nl-route-3 nl-3 jansson inih
# those with an archive where the compiler looks (it names a file it finds by its path)
static_found := $(foreach l,$(STATIC_LIBS),$(if $(filter /%,$(shell $(CC) -print-file-name=lib$(l).a)),$(l)))
# $(call libs,PKGS): their link flags, the STATIC_LIBS with an archive linked in
libs = $(call static_first,$(shell pkg-config --libs $(1) 2>/dev/null))
static_first = -Wl,-Bstatic $(addprefix -l,$(filter $(static_found),$(patsubst -l%,%,$(1)))) \
	-Wl,-Bdynamic $(filter-out $(addprefix -l,$(static_found)),$(1))
NATLAB_LIBS = $(call libs,$(NATLAB_PKGS)) -lm
PROFILE_DIR ?= $(CURDIR)/natsim/profiles
NATLAB_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-DNATLAB_PROFILE_DIR='"$(PROFILE_DIR)"' -DNATLAB_VERSION='"$(VERSION)"' $(PKG_CFLAGS)

# run/record.c (the attempt record), run/edges.c (the edge search) and run/pick.c
# (the pool's next lab) are here so that the unit tests link them too
LIB_SRC = common/cpus.c common/diag.c common/inifile.c common/outfile.c common/sibling.c common/stats.c common/strategy.c common/timing.c \
	natsim/profile.c natsim/ruleset.c natsim/conntrack.c natsim/model.c \
	scenario/parse.c scenario/fault.c scenario/run.c scenario/matrix.c scenario/validate.c scenario/program.c scenario/link.c scenario/addresses.c \
	netns/netns.c netns/link.c netns/lab.c netns/state.c netns/down.c netns/apply.c netns/service.c \
	wire/config.c wire/events.c wire/handoff.c \
	run/record.c run/edges.c run/pick.c prober/protocol.c plan/plan.c plan/print.c common/libre.c common/dl.c common/libpcap.c common/libnfct.c
PROBE_SRC = prober/probe.c prober/server.c prober/server_clients.c prober/server_attempts.c prober/server_probes.c \
	prober/peer.c prober/strategies/table.c prober/strategies/so.c prober/strategies/dcutr.c \
	prober/strategies/lowttl.c prober/strategies/udp.c prober/strategies/relay.c prober/strategies/auto.c \
	prober/strategies/turn.c prober/strategies/exec.c \
	natsim/model.c natsim/profile.c common/inifile.c \
	prober/protocol.c prober/stun.c common/strategy.c common/timing.c common/libre.c common/dl.c common/diag.c common/tcpseg.c
CLI_SRC = cli/natlab.c cli/plan.c cli/bundle.c cli/up.c cli/down.c cli/list.c cli/show.c cli/exec.c cli/rules.c cli/run.c cli/merge.c cli/report.c cli/check.c cli/classify.c classify/classify.c classify/lifetime.c classify/probes.c common/tcpseg.c \
	report/report.c report/auto.c report/population.c report/tables.c report/windows.c report/plots.c report/check.c report/cells.c
# natlab run's machinery (run/record.c and run/edges.c are in LIB_SRC)
RUN_SRC = run/pool.c run/jobs.c run/lab_job.c run/attempt.c run/schedule.c run/nats.c run/child.c run/servers.c \
	run/capture.c run/output.c run/precision.c run/wire_figures.c run/merge.c
# natlab-wire: the wire alone, exec'd by natlab up (small: it loads in a few ms;
# libpcap is loaded only for a capture, common/libpcap.h);
# natlab itself has only the wire's configuration (config.c, handoff.c) and events.c
WIRE_SRC = wire/main.c wire/wire.c wire/handoff.c wire/frame.c wire/packet.c wire/impair.c wire/forward.c wire/ringswap.c \
	wire/ports.c wire/capture.c wire/stats.c common/outfile.c common/timing.c common/dl.c common/diag.c common/libpcap.c
UNIT_SRC = $(wildcard tests/unit/test_*.c)
HDRS = $(wildcard classify/*.h common/*.h natsim/*.h scenario/*.h netns/*.h wire/*.h cli/*.h run/*.h prober/*.h prober/strategies/*.h plan/*.h report/*.h)

LIB_OBJ = $(LIB_SRC:%.c=build/%.o)
CLI_OBJ = $(CLI_SRC:%.c=build/%.o) $(RUN_SRC:%.c=build/%.o)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps check unit offline pytest bench fuzz clean install examples
.SECONDARY:
all: build/natlab build/natlab-probe build/natlab-wire

# a user's program in the lab: ICE-TCP by libnice (examples/ice-tcp.ini), needs libnice-dev
examples: build/examples/ice-tcp
build/examples/ice-tcp: examples/ice-tcp/ice-tcp.c
	@mkdir -p $(dir $@)
	$(CC) $(NATLAB_CFLAGS) $(CFLAGS) $(shell pkg-config --cflags nice) -o $@ $< $(shell pkg-config --libs nice)

build/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(NATLAB_CFLAGS) $(CFLAGS) -c -o $@ $<

# report/plots.gp, built into natlab as plots_gp[] (od and sed: POSIX, no xxd), so
# that a fresh clone and an installed natlab draw with the script of their build
build/report/plots_gp.h: report/plots.gp
	@mkdir -p $(dir $@)
	{ echo 'static const char plots_gp[] = {'; od -An -v -tx1 report/plots.gp | \
		sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0 };'; } >$@.new && mv $@.new $@
build/report/plots.o: build/report/plots_gp.h
build/report/plots.o: NATLAB_CFLAGS += -Ibuild/report

build/natlab: $(LIB_OBJ) $(CLI_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(NATLAB_LIBS)

# inih for auto's --profile; nothing else: it starts twice an attempt
build/natlab-probe: $(PROBE_SRC:%.c=build/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(call libs,inih)

build/natlab-wire: $(WIRE_SRC:%.c=build/%.o)
	$(CC) $(CFLAGS) -o $@ $^ -lm

# unit tests: the library built again under ASan + UBSan
build/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(NATLAB_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

build/unit/%: tests/unit/%.c $(LIB_SRC:%.c=build/san/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(NATLAB_CFLAGS) -O1 -g $(SAN) -o $@ $^ $(PKG_LIBS) -lcmocka

# the wire's per-frame work, which natlab itself does not link
build/unit/test_wire_packet: build/san/wire/packet.o
# a standing lab's wire figures (natlab show --wire), in natlab only
build/unit/test_wire_precision: build/san/run/wire_figures.o

deps:
	@sh scripts/deps.sh

unit: $(UNIT_SRC:tests/unit/%.c=build/unit/%)
	@for t in $^; do echo "== $$t"; NATLAB_PROFILE_DIR=$(CURDIR)/natsim/profiles ./$$t || exit 1; done

# the checkout's package and natlab, even where an installed natlab's pytest plugin
# loads first (before pytest.ini's pythonpath)
CHECKOUT_ENV = PYTHONPATH=$(CURDIR)/python NATLAB=$(CURDIR)/build/natlab
pytest: build/natlab build/natlab-probe build/examples/ice-tcp
	$(CHECKOUT_ENV) $(PYTEST) -c tests/pytest.ini -n $(JOBS) -p no:cacheprovider --ignore=tests/offline tests

# the tests that need no root, run without it (as nobody when make runs as root)
offline: build/natlab build/natlab-probe
	@if [ "$$(id -u)" = 0 ]; then as="setpriv --reuid=65534 --regid=65534 --clear-groups"; fi; \
	$$as env HOME=/tmp PYTHONDONTWRITEBYTECODE=1 $(CHECKOUT_ENV) $(PYTEST) -c tests/pytest.ini -n $(JOBS) \
		-p no:cacheprovider tests/offline

# The tests keep their labs' bookkeeping in build/test-run (a test may choose its
# own). Namespaces that were there before, and those of labs another user brought
# up meanwhile (listed in the machine's run directory), are not ours to judge.
check: deps
	$(MAKE) all examples
	$(MAKE) unit
	$(MAKE) offline
	@ip netns list | cut -d' ' -f1 | sort >build/netns.before
	rm -rf build/test-run
	NATLAB_RUN_DIR=$(CURDIR)/build/test-run $(MAKE) pytest
	bash bench/faults.sh 40
	@others=$$(env -u NATLAB_RUN_DIR build/natlab list | cut -d' ' -f1); \
	left=$$(ip netns list | cut -d' ' -f1 | sort | comm -13 build/netns.before - | \
		while read -r ns; do case " $$(echo $$others) " in *" $${ns%-*} "*) ;; *) echo "$$ns" ;; esac; done); \
	if [ -n "$$left" ]; then echo "make check: namespaces left behind:"; echo "$$left"; exit 1; fi
	@echo "make check: all tests passed; no namespace left behind"

build/wirebench: bench/wirebench.c
	$(CC) $(NATLAB_CFLAGS) $(CFLAGS) -o $@ $<

bench: deps all build/wirebench
	@bash bench/bringup.sh
	@bash bench/cycles.sh
	@bash bench/faults.sh
	@bash bench/scale.sh
	@bash bench/wire.sh
	@bash bench/latency.sh
	@bash bench/attempts.sh
	@bash bench/suite.sh

# libFuzzer (clang), each fuzzer FUZZ_SECONDS: the scenario/profile parsers (scenario/fuzz/),
# the rendezvous lines and its STUN side (prober/fuzz/), the attempt records (run/fuzz/)
FUZZ_SECONDS ?= 60
build/fuzz/scenario_fuzz: scenario/fuzz/scenario_fuzz.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	clang $(NATLAB_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ scenario/fuzz/scenario_fuzz.c $(LIB_SRC) $(PKG_LIBS)

build/fuzz/protocol_fuzz: prober/fuzz/protocol_fuzz.c prober/protocol.c prober/protocol.h
	@mkdir -p $(dir $@)
	clang $(NATLAB_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ prober/fuzz/protocol_fuzz.c prober/protocol.c

build/fuzz/stun_fuzz: prober/fuzz/stun_fuzz.c prober/stun.c prober/stun.h common/libre.c common/libre.h common/dl.c common/diag.c
	@mkdir -p $(dir $@)
	clang $(NATLAB_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ prober/fuzz/stun_fuzz.c prober/stun.c \
		common/libre.c common/dl.c common/diag.c

build/fuzz/record_fuzz: run/fuzz/record_fuzz.c run/record.c run/record.h common/diag.c
	@mkdir -p $(dir $@)
	clang $(NATLAB_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ run/fuzz/record_fuzz.c \
		run/record.c common/diag.c $(PKG_LIBS)

fuzz: build/fuzz/scenario_fuzz build/fuzz/protocol_fuzz build/fuzz/stun_fuzz build/fuzz/record_fuzz
	@mkdir -p build/fuzz/corpus build/fuzz/protocol-corpus build/fuzz/stun-corpus build/fuzz/record-corpus
	NATLAB_PROFILE_DIR=$(CURDIR)/natsim/profiles ./build/fuzz/scenario_fuzz -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 build/fuzz/corpus scenario/fuzz/corpus
	./build/fuzz/protocol_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
		build/fuzz/protocol-corpus prober/fuzz/corpus
	./build/fuzz/stun_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=1500 \
		build/fuzz/stun-corpus prober/fuzz/stun-corpus
	./build/fuzz/record_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		build/fuzz/record-corpus run/fuzz/corpus

# The Python package goes where Debian's python3 looks: /usr/lib/python3/dist-packages
# for PREFIX=/usr, PREFIX/lib/python3.X/dist-packages otherwise (/usr/local's is on
# the path; another PREFIX's with PYTHONPATH). Its pytest plugin is found by the
# pytest11 entry point of natlab-VERSION.dist-info.
VERSION   = 0.1
PYVER    := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHONDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)

install: build/natlab build/natlab-probe build/natlab-wire
	install -D -m 755 build/natlab $(DESTDIR)$(PREFIX)/bin/natlab
	install -m 755 build/natlab-probe build/natlab-wire $(DESTDIR)$(PREFIX)/bin/
	install -D -m 644 man/natlab.8 $(DESTDIR)$(PREFIX)/share/man/man8/natlab.8
	mkdir -p $(DESTDIR)$(PREFIX)/share/natlab/profiles
	install -m 644 natsim/profiles/*.profile $(DESTDIR)$(PREFIX)/share/natlab/profiles/
	mkdir -p $(DESTDIR)$(PREFIX)/share/natlab/links
	install -m 644 natsim/links/*.link $(DESTDIR)$(PREFIX)/share/natlab/links/
	mkdir -p $(DESTDIR)$(PREFIX)/share/natlab/mixes
	install -m 644 natsim/mixes/*.mix $(DESTDIR)$(PREFIX)/share/natlab/mixes/
	install -D -m 644 python/natlab/__init__.py $(DESTDIR)$(PYTHONDIR)/natlab/__init__.py
	install -m 644 python/natlab/pytest_plugin.py $(DESTDIR)$(PYTHONDIR)/natlab/
	printf 'BINDIR = %s\n' "$$(/usr/bin/python3 -c 'import sys; print(repr(sys.argv[1]))' '$(abspath $(PREFIX))/bin')" \
		>$(DESTDIR)$(PYTHONDIR)/natlab/_install.py
	mkdir -p $(DESTDIR)$(PYTHONDIR)/natlab-$(VERSION).dist-info
	printf 'Metadata-Version: 2.1\nName: natlab\nVersion: $(VERSION)\nSummary: NAT behaviour lab: Python API and pytest plugin\n' \
		>$(DESTDIR)$(PYTHONDIR)/natlab-$(VERSION).dist-info/METADATA
	printf '[pytest11]\nnatlab.pytest_plugin = natlab.pytest_plugin\n' >$(DESTDIR)$(PYTHONDIR)/natlab-$(VERSION).dist-info/entry_points.txt

clean:
	rm -rf build
