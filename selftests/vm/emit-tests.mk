# Included after selftests/katasbx/Makefile by `make kselftest-progs`:
# prints the names of TEST_GEN_PROGS, one a line (OUTPUT/ prefixes removed).
katasbx-emit-tests:
	@for t in $(TEST_GEN_PROGS); do echo "$${t##*/}"; done
