#!/bin/bash
# Time N cold `katasbx-runtime run` of a busybox `echo` (boot, create, run, exit,
# tear down) and print each time and the median. Not a test: a measurement.
# usage: time-cold-run.sh [N]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
rt=$here/build/bin/katasbx-runtime
n=${1:-10}
work=$(mktemp -d /tmp/katasbx-time.XXXXXX)
trap 'rm -rf "$work"' EXIT
sh "$here/selftests/lib/mkbundle.sh" "$work/bundle" '"echo", "hello"'
times=()
for i in $(seq 1 "$n"); do
	s=$(date +%s%N)
	"$rt" --root "$work/state" run --bundle "$work/bundle" "t$i" >/dev/null </dev/null
	e=$(date +%s%N)
	ms=$(( (e - s) / 1000000 ))
	times+=("$ms")
	echo "run $i: $ms ms"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}')
echo "median of $n: $median ms ($("$rt" check | sed -n 's/^accelerator: *//p' | cut -d' ' -f1), $(nproc) cores, $(uname -r))"
