# katasbx: one `make` builds everything into build/.
#   make            runtime, agent, guest image
#   make check      installs test dependencies, builds, runs every test suite
#   make demo       installs dependencies, builds, runs a busybox container in a VM
#   make install    PREFIX=/usr/local
#   make kmod       build/kmod/katasbx.ko against KDIR (W=1, C=2 go to kbuild)
#   make kselftest  the module and selftests/katasbx, run in a QEMU VM

PREFIX ?= /usr/local
BUILD  := build
GEN    := $(BUILD)/gen
CC     ?= cc
# V=1 shows whole command lines
ifneq ($(V),1)
Q = @
endif

WARN     := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
            -Wno-format-truncation
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread
CPPFLAGS += -Iuserspace/lib -I$(GEN) -Iinclude/uapi
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer

PROTOS   := $(wildcard proto/*.proto)
GEN_SRCS := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
GEN_HDRS := $(GEN_SRCS:.c=.h)

# containerd's task and event APIs, for the shim only (proto/containerd, proto/google)
SHIM_PROTOS   := $(shell find proto/google proto/containerd -name '*.proto' 2>/dev/null)
SHIM_GEN_SRCS := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(SHIM_PROTOS))
SHIM_GEN_HDRS := $(SHIM_GEN_SRCS:.c=.h)

LIB_SRCS := $(wildcard userspace/lib/*.c userspace/lib/vmm/*.c userspace/lib/net/*.c)
RT_SRCS  := $(wildcard userspace/runtime/*.c)
SHIM_SRCS := $(wildcard userspace/shim/*.c)
BENCH_SRCS := $(wildcard userspace/bench/*.c)
AGENT_SRCS := $(wildcard agent/*.c)
# The agent shares the wire code, the Network check, paths in a root, the hook
# runner, the cgroup file rule, the mount options and the id rule with the host.
AGENT_SHARED := userspace/lib/ttrpc.c userspace/lib/kx_error.c userspace/lib/net/netcheck.c \
		userspace/lib/rootpath.c userspace/lib/hookexec.c userspace/lib/cgfile.c \
		userspace/lib/mountopt.c userspace/lib/kx_id.c

HOST_LIBS  := -ljson-c -lprotobuf-c -lmnl -linih
AGENT_LIBS := -lseccomp -lprotobuf-c -lmnl
# Dynamic (Debian ships no libmnl.a): mkguest.sh copies the libraries into the
# initramfs. -z now binds every symbol at startup, before the agent frees the
# initramfs and before a template snapshot.
AGENT_LDFLAGS := -Wl,-z,now -Wl,-z,relro

obj = $(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$(2))

LIB_OBJS   := $(call obj,host,$(LIB_SRCS) $(GEN_SRCS))
RT_OBJS    := $(call obj,host,$(RT_SRCS))
BENCH_OBJS := $(call obj,host,$(BENCH_SRCS))
SHIM_OBJS  := $(call obj,host,$(SHIM_SRCS) $(SHIM_GEN_SRCS))
AGENT_OBJS := $(call obj,agent,$(AGENT_SRCS) $(AGENT_SHARED) $(GEN_SRCS))

GUEST := $(BUILD)/guest

.SECONDARY: $(GEN_SRCS) $(GEN_HDRS) $(SHIM_GEN_SRCS) $(SHIM_GEN_HDRS)
.PHONY: all install check demo deps test-deps unit e2e clean FORCE
all: $(BUILD)/bin/katasbx-runtime $(BUILD)/bin/katasbx-agent $(GUEST)/initrd.img \
     $(BUILD)/bin/katasbx-bench $(BUILD)/bin/containerd-shim-katasbx-v2

# The commit --version prints: rewritten only when it changes, so that a
# checkout of another commit rebuilds what includes it and nothing else does.
$(GEN)/commit.h: FORCE
	@mkdir -p $(GEN)
	@c=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	git diff --quiet HEAD 2>/dev/null || c="$$c-dirty"; \
	printf '#define KX_COMMIT "%s"\n' "$$c" > $@.tmp; \
	cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
FORCE:
$(BUILD)/obj/host/userspace/runtime/main.o \
$(BUILD)/obj/host/userspace/runtime/features.o: $(GEN)/commit.h

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	@echo "  PROTOC  $<"
	$(Q)protoc-c --c_out=$(GEN) -Iproto $<

$(BUILD)/obj/host/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/agent/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/lib/libkatasbx.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/katasbx-runtime: $(RT_OBJS) $(BUILD)/lib/libkatasbx.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(HOST_LIBS)

# containerd's shim v2 (runtime io.containerd.katasbx.v2) on the same library.
$(SHIM_OBJS): $(SHIM_GEN_HDRS)
$(BUILD)/bin/containerd-shim-katasbx-v2: $(SHIM_OBJS) $(BUILD)/lib/libkatasbx.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(HOST_LIBS)

# Drives the runtime binary; links nothing of it, json-c only.
$(BUILD)/bin/katasbx-bench: $(BENCH_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -ljson-c -lm

$(BUILD)/bin/katasbx-agent: $(AGENT_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(AGENT_LDFLAGS) -o $@ $^ $(AGENT_LIBS)

# The hostile-guest suite's image (selftests/e2e/hostile.sh): the agent with
# its fault modes (KX_AGENT_FAULTS, katasbx.fault= on the kernel command line).
AGENT_FAULT_OBJS := $(call obj,agent-faults,$(AGENT_SRCS) $(AGENT_SHARED) $(GEN_SRCS))
$(BUILD)/obj/agent-faults/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (faults)"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DKX_AGENT_FAULTS -MMD -MP -c -o $@ $<
$(BUILD)/bin/katasbx-agent-faults: $(AGENT_FAULT_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(AGENT_LDFLAGS) -o $@ $^ $(AGENT_LIBS)
$(BUILD)/guest-faults/initrd.img: $(BUILD)/bin/katasbx-agent-faults guest/mkguest.sh \
		guest/modules.list guest/modules-ondemand.list
	@echo "  GUEST   $(BUILD)/guest-faults"
	$(Q)sh guest/mkguest.sh $(BUILD)/bin/katasbx-agent-faults $(BUILD)/guest-faults \
		$(GUEST_KERNEL_VERSION)
guest-faults: $(BUILD)/guest-faults/initrd.img
.PHONY: guest-faults

# The runtime (and so its monitors) with ASan and UBSan, for the hostile-guest suite.
RT_SAN_OBJS := $(call obj,san,$(RT_SRCS) $(LIB_SRCS) $(GEN_SRCS))
$(BUILD)/obj/san/userspace/runtime/main.o $(BUILD)/obj/san/userspace/runtime/features.o: \
	$(GEN)/commit.h
$(BUILD)/san/bin/katasbx-runtime: $(RT_SAN_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -fno-sanitize-recover=all -o $@ $^ $(HOST_LIBS)

hostile: all $(BUILD)/guest-faults/initrd.img $(BUILD)/san/bin/katasbx-runtime
	bash selftests/e2e/hostile.sh
.PHONY: hostile

$(GUEST)/initrd.img: $(BUILD)/bin/katasbx-agent guest/mkguest.sh guest/modules.list \
		guest/modules-ondemand.list
	@echo "  GUEST   $(GUEST)"
	$(Q)sh guest/mkguest.sh $(BUILD)/bin/katasbx-agent $(GUEST) $(GUEST_KERNEL_VERSION)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/katasbx
	install -m 0755 $(BUILD)/bin/katasbx-runtime $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/bin/katasbx-bench $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/bin/containerd-shim-katasbx-v2 $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(GUEST)/initrd.img $(GUEST)/vmlinuz $(GUEST)/kernel-release \
		$(DESTDIR)$(PREFIX)/share/katasbx/
	if [ -f $(GUEST)/vmlinux ]; then \
		install -m 0644 $(GUEST)/vmlinux $(DESTDIR)$(PREFIX)/share/katasbx/; fi

deps:
	sh scripts/install-deps.sh build

test-deps:
	sh scripts/install-deps.sh test

demo: deps
	$(MAKE) all
	sh scripts/demo.sh

check: test-deps
	$(MAKE) WERROR=1 all
	bash selftests/run-all.sh

clean:
	rm -rf $(BUILD)

# The kernel module and its selftests. kbuild writes into the directory it
# builds, so the sources (Kbuild, kmod/, include/uapi/) are copied, timestamps
# kept, into $(KMOD_OUT)/src and built there; the source tree stays clean.
# KMOD_SRC and KSFT_SRC let the same rules build another tree (a test module).
KDIR      ?= $(shell sh selftests/vm/kdir.sh)
KMOD_SRC  ?= .
KMOD_OUT  := $(BUILD)/kmod
KSFT_SRC  ?= selftests/katasbx
KSFT_OUT  := $(BUILD)/kselftest
# what an in-place kbuild run (make -C kmod) leaves behind: not copied
KMOD_NOT_SOURCE := $(foreach p,*.o *.a *.ko *.mod *.mod.c .*.cmd *.symvers modules.order \
		.tmp_versions,--exclude='$(p)')
.PHONY: kmod kselftest-progs kselftest

kmod:
	@test -f $(KMOD_SRC)/kmod/Kbuild || { \
		echo "kmod: $(KMOD_SRC)/kmod/Kbuild is missing: no module sources yet" >&2; exit 1; }
	@test -n "$(KDIR)" && test -d "$(KDIR)" || { \
		echo "kmod: no kernel build tree (KDIR=$(KDIR)): install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	@mkdir -p $(KMOD_OUT)/src
	$(Q)tar -C $(KMOD_SRC) -cf - $(KMOD_NOT_SOURCE) Kbuild kmod include/uapi | \
		tar -C $(KMOD_OUT)/src -xf -
	@echo "  KBUILD  $(KMOD_OUT)/katasbx.ko  (KDIR=$(KDIR))"
	$(Q)$(MAKE) --no-print-directory -C $(KDIR) M=$(abspath $(KMOD_OUT)/src) \
		$(if $(W),W=$(W)) $(if $(C),C=$(C)) $(if $(filter 1,$(V)),V=1) modules
	$(Q)cp $(KMOD_OUT)/src/kmod/katasbx.ko $(KMOD_OUT)/katasbx.ko.tmp && \
		mv $(KMOD_OUT)/katasbx.ko.tmp $(KMOD_OUT)/katasbx.ko

# Static, so that the test VM (a busybox initramfs) runs them as they are;
# tests.list names the TEST_GEN_PROGS the runner runs, in order.
kselftest-progs:
	@test -f $(KSFT_SRC)/Makefile || { \
		echo "kselftest: $(KSFT_SRC)/Makefile is missing: no selftests yet" >&2; exit 1; }
	@mkdir -p $(KSFT_OUT)
	@echo "  KSFT    $(KSFT_SRC) -> $(KSFT_OUT)"
	$(Q)LDFLAGS=-static $(MAKE) --no-print-directory -C $(KSFT_SRC) OUTPUT=$(abspath $(KSFT_OUT))
	$(Q)$(MAKE) -s --no-print-directory -C $(KSFT_SRC) -f Makefile \
		-f $(abspath selftests/vm/emit-tests.mk) OUTPUT=$(abspath $(KSFT_OUT)) \
		katasbx-emit-tests > $(KSFT_OUT)/tests.list

# Boots Debian's kernel (the one KDIR belongs to) in QEMU; see
# Documentation/kselftest.md. Ends with "kselftest: N passed, N failed, N skipped".
kselftest:
	$(Q)$(MAKE) --no-print-directory kmod kselftest-progs || { \
		echo "kselftest: the module or the selftests did not build"; \
		echo "kselftest: 0 passed, 1 failed, 0 skipped"; exit 1; }
	$(Q)KSFT_KO=$(KMOD_OUT)/katasbx.ko KSFT_DIR=$(KSFT_OUT) \
		KSFT_CONFIG=$(KSFT_SRC)/config bash selftests/vm/run-kselftest.sh

# The real-host profile: the test VM of kselftest (Debian's kernel, pure cgroup
# v2, katasbx.ko) with vhost_vsock loaded runs selftests/vm/hosttest.sh, the
# runtime's end-to-end tests on such a host, over the 9p host root. Nested QEMU
# under TCG here: minutes. Ends with "hosttest: N passed, N failed, N skipped".
HOSTTEST_OUT := $(BUILD)/hosttest
.PHONY: hosttest
hosttest:
	$(Q)$(MAKE) --no-print-directory kmod || { \
		echo "hosttest: the module did not build"; \
		echo "hosttest: 0 passed, 1 failed, 0 skipped"; exit 1; }
	$(Q)mkdir -p $(HOSTTEST_OUT)
	$(Q)install -m 0755 selftests/vm/hosttest.sh $(HOSTTEST_OUT)/hosttest
	$(Q)printf "KX_BUILD='/host%s'\nKX_SRC='/host%s'\n" "$(abspath $(BUILD))" "$(CURDIR)" \
		>$(HOSTTEST_OUT)/hosttest.conf
	$(Q)KSFT_NAME=hosttest KSFT_KO=$(KMOD_OUT)/katasbx.ko KSFT_DIR=$(HOSTTEST_OUT) \
		KSFT_TESTS=hosttest KSFT_WORK=$(HOSTTEST_OUT)/vm KSFT_CONFIG=$(KSFT_SRC)/config \
		KSFT_MODULES="vhost_iotlb vhost vsock vmw_vsock_virtio_transport_common vhost_vsock tun" \
		KSFT_TEST_TIMEOUT=900 KSFT_TIMEOUT=1000 KSFT_MEM=3072 bash selftests/vm/run-kselftest.sh

# The shim under containerd's CRI plugin, driven over CRI's gRPC API as kubelet
# drives it (selftests/cri/). Ends with "cri: N passed, N failed, N skipped".
.PHONY: cri soak
cri: all
	bash selftests/cri/run.sh

# The kill storm (reliability.md): 20 lifecycles in make check, 100 here;
# then the soak, SOAK_LOOPS concurrent loops (50) for SOAK_SECS (600).
soak: all
	bash selftests/stress/killstorm.sh 100
	bash selftests/stress/soak.sh

-include selftests/unit/unit.mk
-include selftests/fuzz/fuzz.mk
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
