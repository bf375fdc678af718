# TAP lines and their counters, for the suites' shell scripts (sourced).
# shellcheck shell=bash
pass=0
fail=0
skip=0
n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
# not_ok TEXT [LINE...]: the failure, each LINE after it as a TAP comment
not_ok() {
	n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
