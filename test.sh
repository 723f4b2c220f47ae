#!/bin/bash
# Run every test of postern: unit tests (cmocka), the header and include
# checks, the integration suite (real clients against a real server), all
# of it again under AddressSanitizer + UndefinedBehaviorSanitizer, and
# each fuzz target for a bounded time.  The last line is
# "N passed, N failed".
#   FUZZ_SECONDS=N  seconds per fuzz target (default 6; 0 skips fuzzing)
#   QUICK=1         skip the sanitizer pass and fuzzing
set -u
cd "$(dirname "$0")"
top=$(pwd)
sh scripts/deps.sh || exit 1
PY=/usr/bin/python3
passed=0
failed=0
fails=()

count_unit() {	# $1 build dir, $2 label
	local dir=$1 label=$2 p f names
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --suite unit --print-errorlogs >"$dir/unit.out" 2>&1
	# every figure comes from a result: cmocka's own counts per binary,
	# one per shell check, one failure for a binary that died silently
	if [ -f "$dir/meson-logs/testlog.json" ]; then
		read -r p f names < <($PY scripts/count_unit.py "$dir/meson-logs/testlog.json")
	else
		p=0; f=1; names="meson test did not run"
	fi
	echo "$label unit: $p passed, $f failed"
	[ "$f" -gt 0 ] && { fails+=("$label unit ($names)"); grep -E 'FAIL|TIMEOUT' "$dir/unit.out" | head -20; }
	passed=$((passed + p)); failed=$((failed + f))
}

count_pytest() {	# $1 postern binary, $2 label, $3 log
	local bin=$1 label=$2 log=$3 p f e
	POSTERN_BIN="$bin" $PY -m pytest -q -p no:cacheprovider tests/integration >"$log" 2>&1
	local rc=$?
	p=$(tail -n 3 "$log" | grep -oE '[0-9]+ passed' | awk '{print $1}')
	f=$(tail -n 3 "$log" | grep -oE '[0-9]+ failed' | awk '{print $1}')
	e=$(tail -n 3 "$log" | grep -oE '[0-9]+ errors?' | awk '{print $1}')
	p=${p:-0}; f=$(( ${f:-0} + ${e:-0} ))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	echo "$label integration: $p passed, $f failed"
	[ "$f" -gt 0 ] && { fails+=("$label integration"); grep -E '^(FAILED|ERROR)' "$log" | head -30; }
	passed=$((passed + p)); failed=$((failed + f))
}

# 1. normal build, warnings are errors
[ -f build/build.ninja ] || meson setup build -Dwerror=true >/dev/null || exit 1
if ! ninja -C build >build/ninja.out 2>&1; then
	cat build/ninja.out; echo "0 passed, 1 failed"; exit 1
fi
count_unit build plain
count_pytest "$top/build/postern" plain build/pytest.out

if [ "${QUICK:-0}" != 1 ]; then
	# 2. the same under ASan + UBSan
	[ -f build-asan/build.ninja ] || meson setup build-asan -Dwerror=true \
	    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
	if ! ninja -C build-asan >build-asan/ninja.out 2>&1; then
		cat build-asan/ninja.out; failed=$((failed + 1)); fails+=("asan build")
	else
		export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
		export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		count_unit build-asan asan
		# server processes exit without freeing what lives to the end
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 \
		    count_pytest "$top/build-asan/postern" asan build-asan/pytest.out
		unset ASAN_OPTIONS UBSAN_OPTIONS
	fi

	# 3. fuzz targets, bounded
	secs=${FUZZ_SECONDS:-6}
	if [ "$secs" -gt 0 ]; then
		[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz \
		    -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
		    -Db_lundef=false >/dev/null || exit 1
		if ! ninja -C build-fuzz >build-fuzz/ninja.out 2>&1; then
			cat build-fuzz/ninja.out | tail -20; failed=$((failed + 1)); fails+=("fuzz build")
		else
			for t in build-fuzz/tests/fuzz_*; do
				[ -f "$t" ] && [ -x "$t" ] || continue
				name=$(basename "$t")
				mkdir -p "build-fuzz/corpus/$name"
				dirs="build-fuzz/corpus/$name"
				[ -d "tests/fuzz/seeds/$name" ] && dirs="$dirs tests/fuzz/seeds/$name"
				# shellcheck disable=SC2086
				if "$t" -max_total_time="$secs" -rss_limit_mb=2048 \
				    $dirs >"build-fuzz/$name.log" 2>&1; then
					echo "fuzz $name: ok"; passed=$((passed + 1))
				else
					echo "fuzz $name: FAILED"; tail -30 "build-fuzz/$name.log"
					failed=$((failed + 1)); fails+=("fuzz $name")
				fi
			done
		fi
	fi
fi

[ ${#fails[@]} -gt 0 ] && echo "failing: ${fails[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
