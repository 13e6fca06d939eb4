#!/usr/bin/env python3
"""Reads `go test -json` on stdin and prints what `go test` would (each package's
ok/FAIL line, and the whole output of every failed test), then appends the counts to
the file named by its argument as one line: "PASSED FAILED SKIPPED".

A test counts once per test and per subtest. A package that fails without a failed
test (a build error, a panic outside a test, a TestMain exit) counts as one failure,
so that nothing fails without being counted. Used by scripts/test.sh."""

import json
import sys


def main() -> int:
    counts_file = sys.argv[1]
    passed = failed = skipped = 0
    output = {}  # (package, test) -> [lines]
    failed_tests = set()  # packages with a failed test
    for raw in sys.stdin:
        try:
            ev = json.loads(raw)
        except ValueError:
            sys.stdout.write(raw)  # go's own messages (build errors) are not JSON
            continue
        action, pkg, test = ev.get("Action"), ev.get("Package", ""), ev.get("Test")
        if action == "output":
            out = ev.get("Output", "")
            if test:
                output.setdefault((pkg, test), []).append(out)
            elif out.startswith(("ok ", "ok\t", "FAIL\t", "?")):
                sys.stdout.write(out)  # "ok  pkg 1.2s", "FAIL pkg 1.2s", "?  pkg [no test files]"
            elif out not in ("PASS\n", "FAIL\n"):
                output.setdefault((pkg, None), []).append(out)
            continue
        if action == "build-output":
            sys.stdout.write(ev.get("Output", ""))
            continue
        if action not in ("pass", "fail", "skip"):
            continue
        if test:
            lines = output.pop((pkg, test), [])
            if action == "pass":
                passed += 1
            elif action == "skip":
                skipped += 1
                why = [l.strip() for l in lines if not l.lstrip().startswith(("=== ", "--- "))]
                sys.stdout.write(f"--- SKIP: {pkg} {test}: {' '.join(why)}\n")
            else:
                failed += 1
                failed_tests.add(pkg)
                sys.stdout.write("".join(lines))
        elif action == "fail":
            lines = output.pop((pkg, None), [])
            if pkg not in failed_tests:
                failed += 1  # the package failed outside any test
                sys.stdout.write("".join(lines))
    with open(counts_file, "a") as f:
        f.write(f"{passed} {failed} {skipped}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
