#!/usr/bin/python3
"""Count unit results from meson's testlog.json, one figure per result.

A cmocka binary counts its own PASSED and FAILED cases; a binary that
failed, crashed or timed out without saying how many of its cases failed
counts one failure more.  Any other test (the shell checks) counts one
pass or one failure by its meson result.  Prints "PASSED FAILED NAMES",
NAMES being the failing tests, comma-separated (or "-").
"""
import json
import re
import sys

passed = failed = 0
bad = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    ok = t.get("result") == "OK"
    p = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", out))
    f = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", out))
    if "[==========]" not in out:        # not cmocka: one result
        p, f = (1, 0) if ok else (0, 1)
    elif not ok and f == 0:
        f = 1
    passed += p
    failed += f
    if f:
        bad.append(t["name"])
print(passed, failed, ",".join(bad) or "-")
