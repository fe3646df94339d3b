#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Validate parkwatch JSON reports against tools/parkwatch.schema.json.

usage: validate-json.py [--schema FILE] [--allow-partial] [-v] [REPORT ...]

REPORT is a file written by `parkwatch --json` (or `-` for standard input,
the default). A file may hold several reports one after another, as watch
and command mode write them (one per line): each one is validated. An empty
file, text that is not JSON, or a report cut short is a failure too
(--allow-partial: a last report without its closing newline, one still
being written when the file was read, is left out).

Exit status: 0 every report is valid; 1 a report is invalid (each problem
is printed on stderr as FILE: report N (line L): PATH: what is wrong);
2 usage error or unreadable file; 3 python3-jsonschema is missing.
Needs python3-jsonschema (Debian; tools/install-deps.sh installs it).
"""
import argparse
import json
import os
import sys

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parkwatch.schema.json")
MAX_ERRORS = 20  # per report

try:
    import jsonschema
except ImportError:
    # A python3 other than Debian's (pyenv, venv) may lack the module that
    # python3-jsonschema installed for /usr/bin/python3: use that one.
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK) \
            and not os.environ.get("PARKWATCH_VALIDATE_REEXEC"):
        os.environ["PARKWATCH_VALIDATE_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    sys.stderr.write("validate-json: the jsonschema module is missing "
                     "(Debian: apt-get install python3-jsonschema, or tools/install-deps.sh)\n")
    sys.exit(3)


def documents(text):
    """Yield (line, document) for each JSON document in text; raise
    ValueError(line, message) on text that is not a sequence of documents."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return
        line = text.count("\n", 0, i) + 1
        try:
            doc, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise ValueError(line, "not JSON: %s (line %d, column %d)" % (e.msg, e.lineno, e.colno))
        yield line, doc


def path_of(error):
    p = "$"
    for k in error.absolute_path:
        p += "[%d]" % k if isinstance(k, int) else "." + k
    return p


def describe(error):
    # anyOf/oneOf (an object or null, chan or lock): report the alternative
    # that came closest, not "is not of type 'null'".
    while error.context:
        ctx = [e for e in error.context
               if not (e.validator == "type" and e.validator_value == "null")]
        if not ctx:
            break
        error = max(ctx, key=lambda e: len(e.absolute_path))
    return "%s: %s" % (path_of(error), error.message)


def validate_text(name, text, validator, schema_name, verbose):
    problems = 0
    count = 0
    try:
        for line, doc in documents(text):
            count += 1
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
            for e in errors[:MAX_ERRORS]:
                sys.stderr.write("%s: report %d (line %d): %s\n" % (name, count, line, describe(e)))
            if len(errors) > MAX_ERRORS:
                sys.stderr.write("%s: report %d: ... and %d more problems\n"
                                 % (name, count, len(errors) - MAX_ERRORS))
            problems += bool(errors)
    except ValueError as e:
        line, msg = e.args
        sys.stderr.write("%s: report %d (line %d): %s\n" % (name, count + 1, line, msg))
        return False
    if count == 0:
        sys.stderr.write("%s: no JSON report\n" % name)
        return False
    if problems:
        sys.stderr.write("%s: %d of %d reports do not follow %s\n"
                         % (name, problems, count, schema_name))
    elif verbose:
        sys.stderr.write("%s: %d report%s valid\n" % (name, count, "" if count == 1 else "s"))
    return problems == 0


def main():
    ap = argparse.ArgumentParser(
        description="Validate parkwatch JSON reports (one or more per file) against the schema.")
    ap.add_argument("--schema", default=SCHEMA, help="schema file (default: %(default)s)")
    ap.add_argument("--allow-partial", action="store_true",
                    help="leave out a last report cut short (no final newline: still being written)")
    ap.add_argument("-v", "--verbose", action="store_true", help="say so when a file is valid")
    ap.add_argument("reports", nargs="*", default=["-"], metavar="REPORT",
                    help="report file, - for standard input (default)")
    args = ap.parse_args()

    try:
        with open(args.schema) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        sys.stderr.write("validate-json: schema %s: %s\n" % (args.schema, e))
        return 2
    validator = cls(schema)

    ok = True
    for name in args.reports:
        try:
            if name == "-":
                name, text = "<stdin>", sys.stdin.read()
            else:
                with open(name) as f:
                    text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            sys.stderr.write("validate-json: %s: %s\n" % (name, e))
            return 2
        if args.allow_partial and not text.endswith("\n"):
            text = text[:text.rfind("\n") + 1]
        ok = validate_text(name, text, validator, os.path.basename(args.schema), args.verbose) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
