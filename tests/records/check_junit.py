#!/usr/bin/env python3
"""Check a needle-rig junit.xml with a real JUnit consumer: junitparser
(Debian's python3-junitparser), as CI and MES tools read it.

The file is loaded with junitparser.JUnitXml.fromfile; the counts of its
cases (tests, failures, errors, skipped) are counted case by case and must
equal both the numbers the file states on <testsuites> and <testsuite> and
the numbers expected on the command line; the worst case's result must be
the run's outcome (property "outcome"); the properties and cases named on
the command line must be there with those values and results.

Usage:
  check_junit.py FILE --tests N --failures N --errors N --skipped N
                 [--suite NAME]
                 [--property NAME VALUE]...        (VALUE "-": must be absent)
                 [--case CLASSNAME NAME RESULT]... (RESULT: PASS, FAIL,
                     INDETERMINATE, ERROR or ABORTED: no result element,
                     <failure type="FAIL">, <failure type="INDETERMINATE">,
                     <error>, <skipped>)
                 [--contains CLASSNAME NAME TEXT]... (the case's result
                     message or text, or its system-out, contains TEXT)

Exit status: 0 the file is as expected; 1 it is not (each difference is
printed); 2 usage error or a file junitparser cannot read; 3 junitparser is
not installed (apt install python3-junitparser).
"""
import argparse
import sys

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_NO_LIBRARY = 0, 1, 2, 3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    for key in ("tests", "failures", "errors", "skipped"):
        ap.add_argument("--" + key, type=int, required=True)
    ap.add_argument("--suite")
    ap.add_argument("--property", nargs=2, action="append", default=[],
                    metavar=("NAME", "VALUE"))
    ap.add_argument("--case", nargs=3, action="append", default=[],
                    metavar=("CLASSNAME", "NAME", "RESULT"))
    ap.add_argument("--contains", nargs=3, action="append", default=[],
                    metavar=("CLASSNAME", "NAME", "TEXT"))
    args = ap.parse_args()

    try:
        import junitparser
    except ImportError as e:
        print(f"check_junit: cannot import junitparser ({e}); "
              "apt install python3-junitparser", file=sys.stderr)
        return EXIT_NO_LIBRARY

    try:
        xml = junitparser.JUnitXml.fromfile(args.file)
    except Exception as e:  # the parser's own error: not well-formed, unreadable
        print(f"check_junit: {args.file}: junitparser cannot read it: {e}", file=sys.stderr)
        return EXIT_USAGE

    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: {got!r}, expected {want!r}")

    expect("root element", xml._elem.tag, "testsuites")
    suites = list(xml)
    expect("number of <testsuite>", len(suites), 1)
    if not suites:
        return report(args.file, problems)
    suite = suites[0]
    if args.suite is not None:
        expect("testsuite name", suite.name, args.suite)

    counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    cases = {}
    total_time = 0.0
    for case in suite:
        counted["tests"] += 1
        results = case.result
        if len(results) > 1:
            problems.append(f"case {case.classname}/{case.name}: {len(results)} results")
        kind = "PASS"
        for r in results:
            if isinstance(r, junitparser.Failure):
                counted["failures"] += 1
                kind = r.type or "failure without type"
            elif isinstance(r, junitparser.Error):
                counted["errors"] += 1
                kind = "ERROR"
            elif isinstance(r, junitparser.Skipped):
                counted["skipped"] += 1
                kind = "ABORTED"
        if not case.classname or not case.name:
            problems.append(f"case without classname or name: {case.classname!r}/{case.name!r}")
        if case.time is None or case.time < 0:
            problems.append(f"case {case.classname}/{case.name}: time {case.time!r}")
        else:
            total_time += case.time
        key = (case.classname, case.name)
        if key in cases:
            problems.append(f"case {case.classname}/{case.name} appears twice")
        text = " ".join((r.message or "") + " " + (r.text or "") for r in results)
        text += " " + (case.system_out or "")
        cases[key] = (kind, text)
        print(f"  {case.classname} / {case.name}: {kind}"
              + (f" — {results[0].message}" if results and results[0].message else ""))

    for key in counted:
        want = getattr(args, key)
        expect(f"{key} counted in the cases", counted[key], want)
        expect(f"<testsuite {key}=>", getattr(suite, key), want)
        expect(f"<testsuites {key}=>", getattr(xml, key), want)
    if suite.time is None or total_time > suite.time + 0.0015 * (counted["tests"] + 1):
        problems.append(f"cases take {total_time:.3f} s, longer than the suite's {suite.time!r}")
    if not suite.timestamp:
        problems.append("testsuite has no timestamp")

    props = {}
    for p in suite.properties():
        if p.name in props:
            problems.append(f"property {p.name} appears twice")
        props[p.name] = p.value
    # CI goes red exactly when the unit did not pass: the worst case is the
    # run's outcome (ERROR > ABORTED > FAIL > INDETERMINATE > PASS).
    order = ["PASS", "INDETERMINATE", "FAIL", "ABORTED", "ERROR"]
    kinds = [k for k, _ in cases.values()]
    if any(k not in order for k in kinds):
        problems.append(f"case results outside {order}: {sorted(set(kinds) - set(order))}")
    elif kinds:
        expect("worst case result (vs property outcome)",
               max(kinds, key=order.index), props.get("outcome"))
    print(f"{args.file}: suite {suite.name!r}: {counted}; {len(props)} properties")
    for name, value in args.property:
        if value == "-":
            if name in props:
                problems.append(f"property {name}: {props[name]!r}, expected none")
        elif name not in props:
            problems.append(f"property {name}: missing, expected {value!r}")
        else:
            expect(f"property {name}", props[name], value)

    for classname, name, result in args.case:
        if (classname, name) not in cases:
            problems.append(f"case {classname}/{name}: missing (cases: {sorted(cases)})")
        else:
            expect(f"case {classname}/{name}", cases[(classname, name)][0], result)
    for classname, name, text in args.contains:
        got = cases.get((classname, name))
        if got is None:
            problems.append(f"case {classname}/{name}: missing")
        elif text not in got[1]:
            problems.append(f"case {classname}/{name}: {text!r} not in {got[1]!r}")
    return report(args.file, problems)


def report(path, problems):
    for p in problems:
        print(f"check_junit: {path}: {p}", file=sys.stderr)
    return EXIT_MISMATCH if problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
