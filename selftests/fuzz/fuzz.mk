# libFuzzer targets (selftests/fuzz/fuzz_NAME.c), built with clang, ASan and
# UBSan; included by the top-level Makefile. `make fuzz` runs each for
# FUZZ_SECS seconds (default 60) from its seed corpus, corpus/NAME, and prints
# TAP with each target's runs and coverage; run-all.sh runs it for 10 s each
# with FUZZ_SEED=1 (libFuzzer's seed, so that make check repeats itself).
# To add a target: write fuzz_NAME.c, add NAME to FUZZ_TARGETS and its
# library sources below, and put seed inputs in corpus/NAME.

FUZZ_DIR     := selftests/fuzz
FUZZ_BIN     := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -pthread -Wall -Wno-unused-parameter \
		-Wno-missing-field-initializers $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SECS    ?= 60
FUZZ_SEED    ?=
FUZZ_TARGETS := ttrpc proto oci config
FUZZ_PROTO_SRCS := $(GEN_SRCS) $(SHIM_GEN_SRCS)

FUZZ_SRCS_ttrpc  := userspace/lib/ttrpc.c userspace/lib/kx_error.c $(GEN_SRCS)
FUZZ_SRCS_proto  := $(FUZZ_PROTO_SRCS)
FUZZ_SRCS_oci    := $(wildcard userspace/lib/oci*.c) userspace/lib/vmsize.c userspace/lib/cgfile.c \
		    userspace/lib/fsutil.c userspace/lib/log.c userspace/lib/kx_error.c $(GEN_SRCS)
FUZZ_SRCS_config := $(LIB_SRCS) $(GEN_SRCS)

# every message descriptor of the headers the two sides decode with
FUZZ_DESC_HDRS := $(GEN)/agent.pb-c.h $(GEN)/monitor.pb-c.h $(GEN)/ttrpc.pb-c.h \
		  $(GEN)/containerd/task/v2/shim.pb-c.h
$(GEN)/fuzz_descs.h: $(FUZZ_DESC_HDRS)
	@echo "  GEN     $@"
	$(Q){ for h in $(FUZZ_DESC_HDRS); do echo "#include \"$${h#$(GEN)/}\""; done; \
	  echo "static const ProtobufCMessageDescriptor *const fuzz_descs[] = {"; \
	  sed -n 's/^extern const ProtobufCMessageDescriptor \([a-z0-9_]*__descriptor\);$$/\t\&\1,/p' \
		$(FUZZ_DESC_HDRS); \
	  echo "};"; } >$@.tmp && mv $@.tmp $@

$(BUILD)/obj/fuzz/%.o: %.c $(GEN_HDRS) $(SHIM_GEN_HDRS) $(GEN)/fuzz_descs.h
	@mkdir -p $(dir $@)
	@echo "  CC-FUZZ $<"
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

define fuzz_target
$(FUZZ_BIN)/fuzz_$(1): $(call obj,fuzz,$(FUZZ_DIR)/fuzz_$(1).c $(sort $(FUZZ_SRCS_$(1))))
	@mkdir -p $$(dir $$@)
	@echo "  LD-FUZZ $$@"
	$$(Q)$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(HOST_LIBS) -lseccomp
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

fuzz-build: $(addprefix $(FUZZ_BIN)/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	FUZZ_SECS=$(FUZZ_SECS) FUZZ_SEED=$(FUZZ_SEED) bash $(FUZZ_DIR)/run.sh $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build
