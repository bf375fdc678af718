#!/bin/bash
# Clone-boot end to end: templates made once and reused, clones restored
# copy-on-write, invalidation, races, destroyed templates, clone identity.
# Prints TAP and a last line "template: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=template
. "$here/selftests/lib/e2e.sh"

ntemplates() { rt template list | tail -n +2 | wc -l; }

echo "TAP version 13"

out=$(rt template create 2>"$WORK/err")
key=${out%% *}
if [ ${#key} -eq 16 ] && [ "$(ntemplates)" -eq 1 ]; then
	ok "template create makes a template ($out)"
else
	not_ok "template create" "$out" "$(cat "$WORK/err")"
fi
out=$(rt template create 2>&1)
[ "$out" = "$key exists" ] && ok "template create again finds it" || not_ok "template exists" "$out"

b=$(bundle c1 '"sh", "-c", "uname -r; echo to-stderr >&2; exit 7"')
rt run --keep --bundle "$b" c1 >"$WORK/o" 2>"$WORK/e" </dev/null; rc=$?
if [ $rc -eq 7 ] && [ "$(cat "$WORK/o")" = "$(cat "$here/build/guest/kernel-release")" ] &&
   [ "$(cat "$WORK/e")" = to-stderr ] && [ "$(boot_of c1)" = "clone:$key" ]; then
	ok "a clone runs: stdout, stderr and exit 7 ($(boot_of c1))"
else
	not_ok "clone run" "rc=$rc boot=$(boot_of c1)" "$(cat "$WORK/o")" "$(cat "$WORK/e")"
fi
rt delete c1
rt run --keep --bundle "$b" c2 >/dev/null 2>&1 </dev/null
[ "$(boot_of c2)" = "clone:$key" ] && [ "$(ntemplates)" -eq 1 ] \
	&& ok "the next run reuses the template" || not_ok "reuse" "boot=$(boot_of c2)"
rt delete c2

b=$(bundle c3 '"sleep", "1000"')
rt run --keep -d --bundle "$b" c3 </dev/null >/dev/null 2>&1
rt kill c3 KILL && wait_status c3 stopped 10 && rt delete c3 && nothing_left c3 >/dev/null \
	&& ok "kill and delete a clone" || not_ok "kill/delete clone" "$(rt state c3 2>&1)"

rt --template off run --keep --bundle "$b" --detach c4 </dev/null >/dev/null 2>&1
[ "$(boot_of c4)" = cold ] && ok "--template off boots a fresh VM" || not_ok "template off" "$(boot_of c4)"
rt delete --force c4

# --- invalidation -----------------------------------------------------------------
cp "$here/build/guest/initrd.img" "$WORK/initrd.img"
b=$(bundle inv '"true"')
rt --initrd "$WORK/initrd.img" run --keep --bundle "$b" inv1 </dev/null >/dev/null 2>"$WORK/inv1.err"
k1=$(boot_of inv1)
touch -d '+1 minute' "$WORK/initrd.img"
rt --initrd "$WORK/initrd.img" run --keep --bundle "$b" inv2 </dev/null >/dev/null 2>"$WORK/inv2.err"
k2=$(boot_of inv2)
[ -n "$k1" ] && [ "${k1#clone:}" != "$k1" ] && [ "${k2#clone:}" != "$k2" ] && [ "$k1" != "$k2" ] \
	&& ok "a changed initrd makes a new template" || not_ok "initrd invalidation" "$k1 $k2" "$(cat "$WORK/inv1.err" "$WORK/inv2.err")"
cp "$here/build/guest/$(basename "$(rt check | sed -n 's/^guest kernel: *//p')")" "$WORK/kernel"
rt --kernel "$WORK/kernel" --initrd "$WORK/initrd.img" run --keep --bundle "$b" inv3 </dev/null >/dev/null 2>&1
k3=$(boot_of inv3)
[ "${k3#clone:}" != "$k3" ] && [ "$k3" != "$k2" ] \
	&& ok "a changed kernel makes a new template" || not_ok "kernel invalidation" "$k2 $k3"
for id in inv1 inv2 inv3; do rt delete $id; done

# --- two first uses at once ------------------------------------------------------
echo "template_dir = $WORK/race" > "$WORK/race.conf"
KATASBX_CONFIG=$WORK/race.conf rt run --keep --bundle "$b" race1 </dev/null >/dev/null 2>&1 &
p1=$!
KATASBX_CONFIG=$WORK/race.conf rt run --keep --bundle "$b" race2 </dev/null >/dev/null 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
made=$(KATASBX_CONFIG=$WORK/race.conf rt template list | tail -n +2 | wc -l)
if [ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ "$made" -eq 1 ] && [ "$(boot_of race1)" = "$(boot_of race2)" ] &&
   [ "${race1_boot:=$(boot_of race1)}" != cold ]; then
	ok "two concurrent first uses make one template ($(boot_of race1))"
else
	not_ok "template race" "rc $r1 $r2, $made templates, boots $(boot_of race1) $(boot_of race2)"
fi
rt delete race1
rt delete race2

# --- a destroyed template's clones keep running --------------------------------------
b=$(bundle survivor '"sh", "-c", "trap \"echo bye; exit 3\" TERM; echo up; while :; do sleep 0.1; done"')
rt run --keep --bundle "$b" survivor </dev/null >"$WORK/survivor.out" 2>&1 &
sp=$!
for i in $(seq 1 100); do grep -q up "$WORK/survivor.out" && break; sleep 0.1; done
rt template destroy --all 2>"$WORK/err"
[ "$(ntemplates)" -eq 0 ] && ok "template destroy --all" || not_ok "destroy" "$(cat "$WORK/err")"
rt kill survivor TERM
wait $sp; rc=$?
[ $rc -eq 3 ] && grep -q bye "$WORK/survivor.out" \
	&& ok "a clone of a destroyed template keeps running and exits normally" \
	|| not_ok "survivor" "rc=$rc $(cat "$WORK/survivor.out")"
rt delete survivor

# --- identity ---------------------------------------------------------------------
identity_runs id1 id2
if distinct_random "$r1" "$r2"; then
	ok "two clones of one template read different bytes from /dev/urandom"
else
	not_ok "urandom" "'$r1' '$r2'"
fi
if clock_near 1 "$before" "$after" "$t1" "$t2"; then
	ok "a clone's clock is within a second of the host's"
else
	not_ok "clock" "guest $t1 $t2, host $before..$after"
fi
rt delete id1
rt delete id2

# --- fallback --------------------------------------------------------------------
echo "template_dir = /proc/katasbx-no-such-dir" > "$WORK/bad.conf"
b=$(bundle fb '"echo", "fell-back"')
out=$(KATASBX_CONFIG=$WORK/bad.conf rt run --keep --bundle "$b" fb 2>"$WORK/err" </dev/null); rc=$?
if [ $rc -eq 0 ] && [ "$out" = fell-back ] && grep -q "booted a fresh VM instead" "$WORK/err" &&
   [ "$(boot_of fb)" = cold ]; then
	ok "when no template can be made, the runtime boots with a warning"
else
	not_ok "fallback" "rc=$rc out=$out boot=$(boot_of fb)" "$(cat "$WORK/err")"
fi
rt delete fb

if pgrep -f "$WORK/" >/dev/null; then
	not_ok "no QEMU or monitor left" "$(pgrep -af "$WORK/")"
else
	ok "no QEMU or monitor left"
fi
finish template
