#!/bin/sh
# The smtp process (hostile input) includes nothing from auth/, queue/,
# local/ or parent/: the boundary of DESIGN.md is enforced, not just drawn.
src="$1/src"; fail=0
for f in "$src"/smtp/*.c "$src"/smtp/*.h "$src"/net/*.c "$src"/lib/*.c; do
	[ -f "$f" ] || continue
	if grep -nE '#include\s+"(\.\./)?(auth|queue|local|parent|ctl)/' "$f"; then
		echo "FAIL: $f crosses a process boundary"; fail=1
	fi
done
exit $fail
