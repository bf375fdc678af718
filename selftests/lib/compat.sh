# Side by side with Debian's runc (sourced after e2e.sh): the same bundle, a
# bare busybox rootfs under `runc spec`'s config.json changed by one jq filter,
# through both runtimes. Used by runc-compat.sh and hooks.sh.

# compat_base: $BASE, a bare rootfs (busybox and its applets, nothing else) and runc
# spec's config.json; not ok and 1 when runc is missing
compat_base() {
	if ! command -v runc >/dev/null; then
		not_ok "runc is installed" "run: sh scripts/install-deps.sh test"
		return 1
	fi
	BASE=$WORK/base
	mkdir -p "$BASE/rootfs/bin"
	cp "$(command -v busybox)" "$BASE/rootfs/bin/busybox"
	for a in $("$BASE/rootfs/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$BASE/rootfs/bin/$a"
	done
	(cd "$BASE" && runc spec) || { not_ok "runc spec"; return 1; }
}

# mkcase NAME FILTER: bundle $WORK/NAME, a copy of the bare rootfs, config.json through
# `jq FILTER` (terminal off)
mkcase() {
	local d=$WORK/$1
	mkdir -p "$d"
	cp -a "$BASE/rootfs" "$d/rootfs"
	jq ".process.terminal = false | $2" "$BASE/config.json" >"$d/config.json" || return 1
	echo "$d"
}

# same NAME FILTER [WARNING]: both run it; same exit status and stdout; katasbx says
# nothing on stderr, or WARNING there when given (what runc warns of too)
same() {
	local name=$1 filter=$2 warning=${3:-} d rout kout rrc krc errok
	d=$(mkcase "$name" "$filter") || { not_ok "$name: jq $filter"; return; }
	rout=$(cd "$d" && runc --root "$WORK/runc" run "r-$name" 2>"$WORK/runc.err" </dev/null)
	rrc=$?
	runc --root "$WORK/runc" delete -f "r-$name" >/dev/null 2>&1
	rm -rf "$d/rootfs" && cp -a "$BASE/rootfs" "$d/rootfs"	# as runc found it
	kout=$(rt run --bundle "$d" "k-$name" 2>"$WORK/kx.err" </dev/null)
	krc=$?
	rt delete --force "k-$name" >/dev/null 2>&1
	if [ -n "$warning" ]; then
		grep -qF -- "$warning" "$WORK/kx.err" && errok=1 || errok=
	else
		[ -s "$WORK/kx.err" ] && errok= || errok=1
	fi
	if [ "$rrc" = "$krc" ] && [ "$rout" = "$kout" ] && [ -n "$errok" ]; then
		ok "$name: exit $krc and the same output as runc$([ -n "$kout" ] && echo " ($(echo "$kout" | head -n 1)...)")"
	else
		not_ok "$name: as runc" "runc: exit $rrc, out '$rout', err $(tail -n 2 "$WORK/runc.err")" \
			"katasbx: exit $krc, out '$kout', err $(tail -n 2 "$WORK/kx.err")"
	fi
}

# refused NAME FILTER WORDS: create fails in both with exit 1; katasbx says WORDS and
# leaves no state, QEMU or monitor
refused() {
	local name=$1 filter=$2 words=$3 d rrc krc left
	d=$(mkcase "$name" "$filter") || { not_ok "$name: jq $filter"; return; }
	(cd "$d" && runc --root "$WORK/runc" create "r-$name" >/dev/null 2>"$WORK/runc.err" </dev/null)
	rrc=$?
	runc --root "$WORK/runc" delete -f "r-$name" >/dev/null 2>&1
	rt create --bundle "$d" "k-$name" >/dev/null 2>"$WORK/kx.err" </dev/null
	krc=$?
	left=$(nothing_left "k-$name")
	if [ "$rrc" = 1 ] && [ "$krc" = 1 ] && grep -qF -- "$words" "$WORK/kx.err" && [ -z "$left" ]; then
		ok "$name: create fails as under runc, exit 1: $(tail -n 1 "$WORK/kx.err")"
	else
		not_ok "$name: create fails as under runc" "runc: exit $rrc $(tail -n 1 "$WORK/runc.err")" \
			"katasbx: exit $krc $(tail -n 1 "$WORK/kx.err")" "$left"
	fi
	rt delete --force "k-$name" >/dev/null 2>&1
}
