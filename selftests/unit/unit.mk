# Unit tests (cmocka), included by the top-level Makefile.
#
# Each test links only the library sources it needs, so that files still being
# written elsewhere in userspace/lib cannot break it. To add a test, write
# selftests/unit/test_NAME.c and add one line below:
#   $(eval $(call unit_test,NAME,library sources it needs))
# Every test gets the generated protobuf code; each is built twice, plain and
# with $(SAN_FLAGS), and `make unit` runs both.

UNIT_DIR   := selftests/unit
UNIT_BIN   := $(BUILD)/tests
UNIT_LIBS  := $(HOST_LIBS) -lcmocka
UNIT_SAN   := $(SAN_FLAGS) -fno-sanitize-recover=all
UNIT_TESTS :=

# $(1): test name, $(2): library sources.
define unit_test
UNIT_TESTS += $(UNIT_BIN)/test_$(1) $(UNIT_BIN)/test_$(1)-san
$(UNIT_BIN)/test_$(1): $(call obj,host,$(UNIT_DIR)/test_$(1).c $(2) $(GEN_SRCS))
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	$$(Q)$$(CC) $$(CFLAGS) -o $$@ $$^ $$(UNIT_LIBS)
$(UNIT_BIN)/test_$(1)-san: $(call obj,san,$(UNIT_DIR)/test_$(1).c $(2) $(GEN_SRCS))
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	$$(Q)$$(CC) $$(CFLAGS) $$(UNIT_SAN) -o $$@ $$^ $$(UNIT_LIBS)
endef

$(eval $(call unit_test,oci,$(wildcard userspace/lib/oci*.c) userspace/lib/vmsize.c userspace/lib/cgfile.c userspace/lib/fsutil.c userspace/lib/log.c userspace/lib/kx_error.c))
$(eval $(call unit_test,ttrpc,userspace/lib/ttrpc.c userspace/lib/kx_error.c))
$(eval $(call unit_test,state,userspace/lib/state.c userspace/lib/kx_id.c userspace/lib/hostcg.c userspace/lib/hooks.c userspace/lib/hookexec.c $(wildcard userspace/lib/oci*.c) userspace/lib/cgfile.c userspace/lib/fsutil.c userspace/lib/signals.c userspace/lib/config.c userspace/lib/log.c userspace/lib/vmm/hostcaps.c $(wildcard userspace/lib/net/*.c) userspace/lib/kx_error.c))
$(eval $(call unit_test,vmm,$(LIB_SRCS)))
$(eval $(call unit_test,kxdev,userspace/lib/kxdev.c userspace/lib/kx_error.c))
$(eval $(call unit_test,ttrpc_server,userspace/lib/ttrpc_server.c userspace/lib/ttrpc.c userspace/lib/sockets.c userspace/lib/kx_error.c))
$(eval $(call unit_test,netlink,userspace/lib/net/netlink.c userspace/lib/net/nlparse.c userspace/lib/net/tc.c userspace/lib/net/tap.c userspace/lib/net/netcheck.c userspace/lib/kx_error.c))
$(eval $(call unit_test,pool,$(LIB_SRCS)))
$(eval $(call unit_test,monitor_io,$(LIB_SRCS)))
$(eval $(call unit_test,hostcg,$(LIB_SRCS)))
$(eval $(call unit_test,metrics,userspace/shim/metrics.c $(SHIM_GEN_SRCS) userspace/lib/hostcg.c userspace/lib/fsutil.c userspace/lib/log.c userspace/lib/kx_error.c))
# the shim's own generated code (containerd's messages) is made before these compile
$(call obj,host,$(UNIT_DIR)/test_metrics.c userspace/shim/metrics.c) \
$(call obj,san,$(UNIT_DIR)/test_metrics.c userspace/shim/metrics.c $(SHIM_GEN_SRCS)): $(SHIM_GEN_HDRS)
$(eval $(call unit_test,netcheck,userspace/lib/net/netcheck.c))
$(eval $(call unit_test,net_late,$(wildcard userspace/lib/net/*.c) userspace/lib/log.c userspace/lib/kx_error.c))
$(eval $(call unit_test,agent_net,agent/net.c userspace/lib/net/netcheck.c))
$(eval $(call unit_test,agent_modules,agent/modules.c))

$(BUILD)/obj/san/%.o: %.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC-SAN  $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(UNIT_SAN) -MMD -MP -c -o $@ $<

unit: $(UNIT_TESTS)
	sh $(UNIT_DIR)/run.sh $(UNIT_TESTS)
