# virtform's Makefile: boring on purpose. pkg-config for every library,
# output under build/ (build/san/ for the sanitizer variant), dependency
# files, warnings that fail the build.
#
#   make            build build/virtform
#   make deps       apt-install the Debian packages virtform needs (root)
#   make run        deps, build, apply examples/quickstart to test:///default
#   make check      deps, build, unit tests, schema tests, completion, integration tests
#   make SAN=1 ...  the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   make e2e        a Debian cloud image boots and cloud-init applies its user-data (tests/e2e)
#   make chaos      three fleet hosts, a 3-member etcd, 1,000 injected faults (tests/chaos)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
VERSION := 0.1.0

CC ?= cc
PKGS := yaml-0.1 libxml-2.0 libvirt libcurl uuid json-c libsystemd gnutls liblzma zlib libzstd libisofs-1
TEST_PKGS := cmocka

# BUILD may be overridden (make BUILD=build/mine) so parallel work never shares objects.
BUILD ?= build
ifeq ($(SAN),1)
OUT := $(BUILD)/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
OUT := $(BUILD)
SANFLAGS :=
endif

# Debian packages: build, unit test, integration test.
DEB_PKGS := gcc make pkg-config libyaml-dev libxml2-dev libvirt-dev libcurl4-openssl-dev \
	uuid-dev libjson-c-dev libgnutls28-dev libinotifytools0-dev inotify-tools libsystemd-dev libcmocka-dev \
	libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils \
	etcd-server ovmf python3 python3-yaml python3-jsonschema \
	liblzma-dev zlib1g-dev libzstd-dev xz-utils zstd \
	libisofs-dev genisoimage
# Networks (kind: Network): libvirt runs dnsmasq for a network's DHCP and DNS.
DEB_PKGS += dnsmasq-base
# Remote URIs: the integration suite runs a second sshd on 127.0.0.1.
DEB_PKGS += openssh-server openssh-client
# Containers: lxc:/// on a private libvirtd.
DEB_PKGS += libvirt-daemon-driver-lxc
# make e2e builds a small Debian cloud image (no loop devices, no mounts).
DEB_PKGS += mmdebstrap e2fsprogs fdisk grub-pc-bin
# The Ansible module's test (tests/integration/test_95_ansible.sh) runs ansible-playbook.
DEB_PKGS += ansible-core
# The chaos harness (tests/chaos/) links its hosts to etcd with veth pairs and a bridge.
DEB_PKGS += iproute2

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wundef -Wvla -Wwrite-strings \
	-Wcast-qual -Wnull-dereference -Wimplicit-fallthrough -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(SANFLAGS) $(CPPFLAGS) -D_GNU_SOURCE -DVF_VERSION='"$(VERSION)"' \
	-I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools -lpthread
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null) \
	-DFIXTURESDIR='"$(CURDIR)/tests/fixtures"' -DCASESDIR='"$(CURDIR)/tests/cases"' \
	-DSRCDIR='"$(CURDIR)"' -DVF_FENCE_BIN='"$(CURDIR)/$(OUT)/virtform-fence"'
TEST_LDLIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# controller/ has one folder per stage (docs/architecture.md); drivers/ one per driver.
LIB_SRCS := $(filter-out controller/cli/main.c controller/cli/fence_main.c,$(wildcard controller/*/*.c)) \
	$(wildcard drivers/*.c) $(wildcard drivers/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/%.o)
MAIN_OBJ := $(OUT)/controller/cli/main.o
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_HARNESS := $(wildcard tests/harness/*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(OUT)/tests/%)
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(OUT)/bench/%)

.SECONDARY:
.PHONY: all deps run check unit integration schema-check install clean bench
.PHONY: completion-check
all: $(OUT)/virtform $(OUT)/virtform-fence

# Quiet by default; V=1 shows the commands.
ifneq ($(V),1)
Q := @
QCC = @echo "  CC      $<";
QLD = @echo "  LD      $@";
endif

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OUT)/libvirtform.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(OUT)/virtform: $(MAIN_OBJ) $(OUT)/libvirtform.a
	$(QLD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# The fence helper (docs/fleet.md): its own small binary, libc only.
$(OUT)/virtform-fence: $(OUT)/controller/cli/fence_main.o $(OUT)/drivers/fence/helper.o \
		$(OUT)/drivers/fence/proc.o
	$(QLD)$(CC) $(ALL_LDFLAGS) -o $@ $^

$(OUT)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(OUT)/tests/test_%: $(OUT)/tests/test_%.o $(TEST_HARNESS:tests/%.c=$(OUT)/tests/%.o) $(OUT)/libvirtform.a
	$(QLD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(OUT)/tests/test_fence $(OUT)/tests/test_fleet: | $(OUT)/virtform-fence

$(OUT)/bench/%: tests/bench/%.c $(OUT)/libvirtform.a
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) -o $@ $< $(OUT)/libvirtform.a $(LDLIBS)

deps:
	@BUILD="$(OUT)" sh tests/tools/deps.sh $(DEB_PKGS)
	@sh tests/tools/kvm-access.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh examples/quickstart/run.sh $(OUT)/virtform

unit: $(TEST_BINS)
	@sh tests/tools/run-unit.sh $(TEST_BINS)

schema-check: $(OUT)/virtform
	@/usr/bin/python3 tests/schema_check.py $(OUT)/virtform

integration: $(OUT)/virtform $(OUT)/virtform-fence
	@sh tests/integration/run.sh $(OUT)/virtform

# bash completion (controller/cli/completion.bash) in a simulated bash -i; no libvirt.
completion-check: $(OUT)/virtform
	@bash tests/completion/run.sh $(OUT)/virtform

check: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory schema-check
	@$(MAKE) --no-print-directory completion-check
	@$(MAKE) --no-print-directory integration

# The fleet's chaos harness (tests/chaos/, docs/fleet.md): three namespaced
# hosts, a three-member etcd, CHAOS_FAULTS faults (default 1000; CHAOS_SEED
# repeats a run). test_90_chaos.sh runs 50 of them in make check.
.PHONY: chaos
chaos: deps $(OUT)/virtform $(OUT)/virtform-fence
	@/usr/bin/python3 tests/chaos/chaos.py --virtform $(OUT)/virtform --faults $${CHAOS_FAULTS:-1000}

# Whether this libvirt's qemu+libssh:// client takes calls that overlap on
# one connection (tests/integration/libssh_canary.sh). Fails on Debian 12.
.PHONY: libssh-canary
libssh-canary: deps $(OUT)/virtform $(OUT)/tools/libssh_overlap
	@VF_BIN=$(CURDIR)/$(OUT)/virtform VF_OVERLAP_BIN=$(CURDIR)/$(OUT)/tools/libssh_overlap \
		bash tests/integration/libssh_canary.sh

$(OUT)/tools/libssh_overlap: tests/tools/libssh_overlap.c
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(shell pkg-config --libs libvirt) -lpthread

bench: deps $(OUT)/virtform $(BENCH_BINS)
	@sh tests/bench/run.sh $(OUT)

# End to end (issue 15): builds the image once per machine (cached in
# /var/cache/virtform-e2e), boots it with both Debian kernels.
.PHONY: e2e
e2e: deps $(OUT)/virtform
	@bash tests/e2e/run.sh $(OUT)/virtform

install: $(OUT)/virtform $(OUT)/virtform-fence
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(OUT)/virtform $(DESTDIR)$(BINDIR)/virtform
	install -m 0755 $(OUT)/virtform-fence $(DESTDIR)$(BINDIR)/virtform-fence
	install -m 0644 docs/virtform.1 $(DESTDIR)$(MANDIR)/man1/virtform.1
	install -m 0644 docs/virtform-fence.1 $(DESTDIR)$(MANDIR)/man1/virtform-fence.1
	install -m 0644 docs/virtform.yaml.5 $(DESTDIR)$(MANDIR)/man5/virtform.yaml.5
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 controller/cli/completion.bash $(DESTDIR)$(BASHCOMPDIR)/virtform

clean:
	rm -rf build

# ---- the Debian package (debian/, tests/package) ---------------------------
# make package-check  build the .deb, lintian it, install, use and purge it
#                     in a fresh mmdebstrap chroot (about a minute; SKIPs
#                     without the archive). Its build-only tools are installed
#                     here, not by make deps, so make check stays as it was.
PKG_DEB_PKGS := debhelper dpkg-dev lintian mmdebstrap
.PHONY: deps-package package-check
deps-package: deps
	@sh tests/tools/deps.sh $(PKG_DEB_PKGS)

package-check: deps-package
	@bash tests/package/run.sh

-include $(shell find $(OUT) -maxdepth 4 -name '*.d' 2>/dev/null)

# ---- benchmarks, fuzzing, valgrind (tests/bench, tests/fuzz) ----------------
# make bench-peers   virtform against Ansible's community.libvirt, 50 domains
# make fuzz          libFuzzer over the manifest loader (FUZZ_SECONDS=60)
# make valgrind      the unit tests under memcheck (tests/valgrind.supp)
.PHONY: bench-peers fuzz valgrind
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(filter-out -Werror -O2,$(ALL_CFLAGS)) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# The controller and what it links against, minus libvirt/libcurl drivers.
FUZZ_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter controller/%,$(LIB_SRCS)) \
	drivers/observed.c drivers/registry.c $(wildcard drivers/lock/*.c))

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(QCC)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# clang rejects syscalls.c's const struct as a global's initializer (gcc
# takes it); it is not what is fuzzed, so gcc builds it, uninstrumented.
$(BUILD)/fuzz/obj/drivers/lock/syscalls.o: drivers/lock/syscalls.c
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(filter-out $(SANFLAGS),$(ALL_CFLAGS)) -c -o $@ $<

$(BUILD)/fuzz/libfuzzvf.a: $(FUZZ_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/fuzz/fuzz_manifest: tests/fuzz/fuzz_manifest.c $(BUILD)/fuzz/libfuzzvf.a
	@mkdir -p $(dir $@)
	$(QLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzzvf.a $(LDLIBS)

# clang and its fuzzer runtime, valgrind: only these targets need them.
FUZZ_DEB_PKGS := clang libclang-rt-14-dev valgrind
.PHONY: deps-fuzz
deps-fuzz: deps
	@sh tests/tools/deps.sh $(FUZZ_DEB_PKGS)

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory $(BUILD)/fuzz/fuzz_manifest
	@sh tests/fuzz/run.sh $(BUILD)/fuzz/fuzz_manifest $(BUILD) $(FUZZ_SECONDS)

bench-peers: deps $(OUT)/virtform $(OUT)/bench/floor
	@bash tests/bench/peers.sh $(OUT)

valgrind: deps-fuzz
	@$(MAKE) --no-print-directory $(TEST_BINS)
	@sh tests/fuzz/valgrind.sh $(TEST_BINS)
