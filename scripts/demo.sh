#!/bin/sh
# The demo: a busybox container in its own VM prints a greeting and the
# kernel release it sees (the guest's, not the host's).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
rt=$here/build/bin/katasbx-runtime
work=$(mktemp -d /tmp/katasbx-demo.XXXXXX)
root=$work/state
trap '"$rt" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

sh "$here/selftests/lib/mkbundle.sh" "$work/bundle" \
	'"sh", "-c", "echo Hello from katasbx: this container runs in its own VM; echo guest kernel: $(uname -r)"'
echo "host kernel:  $(uname -r)"
"$rt" --root "$root" run --bundle "$work/bundle" demo
