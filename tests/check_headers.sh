#!/bin/sh
# Every header under src/ compiles on its own (STYLE.md rule 3).
src="$1/src"; cc="${2:-cc}"; fail=0
for h in $(find "$src" -name '*.h' | sort); do
	printf '#include "%s"\n' "$h" | "$cc" -std=c11 -D_GNU_SOURCE -I"$src" \
	    -I"$src/lib" -I"$src/proc" -I"$src/net" -Wall -Wextra -Werror \
	    -fsyntax-only -x c - || { echo "FAIL: $h"; fail=1; }
done
exit $fail
