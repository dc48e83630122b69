#!/usr/bin/env python3
"""Validates the real --json outputs of tellonce against docs/json.md.

usage: json_check.py DOCS_JSON_MD OUTDIR TELLONCE

docs/json.md has, per command, a heading "## `tellonce NAME`" followed by
one ```json block: its JSON Schema (draft 2020-12). OUTDIR holds the outputs
of the test's runs, NAME.N.json. It fails when:
  - a schema is not a valid schema, or two headings name the same command;
  - a documented command has no run in OUTDIR, or a run has no schema;
  - an output is not JSON or does not validate against its schema;
  - a command whose --help offers --json has no schema (a usage line
    "tellonce CMD [SUB] ... --json", or its continuation lines).
"""
import glob
import json
import os
import re
import subprocess
import sys

import jsonschema

HEADING = re.compile(r"^## `tellonce ([^`]+)`\s*$")


def schemas(path):
    out, name, lines, in_block = {}, None, None, False
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        m = HEADING.match(line)
        if m and not in_block:
            name = m.group(1).strip()
            if name in out:
                sys.exit("%s:%d: a second schema for '%s'" % (path, no, name))
            continue
        if line.strip() == "```json" and name and name not in out:
            in_block, lines = True, []
            continue
        if in_block and line.strip() == "```":
            in_block = False
            try:
                out[name] = json.loads("".join(lines))
            except ValueError as e:
                sys.exit("%s: the schema of '%s' is not JSON: %s" % (path, name, e))
            continue
        if in_block:
            lines.append(line)
    return out


def help_commands(tlo):
    """The commands (with their subcommand) whose --help offers --json."""
    env = dict(os.environ, LC_ALL="C.UTF-8", LANGUAGE="")
    top = subprocess.run([tlo, "--help"], capture_output=True, text=True, env=env).stdout
    names = re.findall(r"^  ([a-z][a-z-]+) ", top, re.M)
    found = set()
    for cmd in names:
        text = subprocess.run([tlo, cmd, "--help"], capture_output=True, text=True,
                              env=env).stdout
        current = None
        for line in text.splitlines():
            m = re.match(r"^(?:usage: +| +)tellonce (\S+)(?: +\[?([a-z][a-z-]*)\]?(?= |$))?", line)
            if m and m.group(1) == cmd:
                current = cmd + (" " + m.group(2) if m.group(2) else "")
            elif not line.startswith(" "):
                current = None
            if current and "--json" in line:
                found.add(current)
    return found


def main():
    docs, outdir, tlo = sys.argv[1:4]
    sch = schemas(docs)
    failures = []
    if not sch:
        failures.append("%s has no schema" % docs)
    runs = {}
    for f in sorted(glob.glob(os.path.join(outdir, "*.json"))):
        name = os.path.basename(f).rsplit(".", 2)[0]
        runs.setdefault(name, []).append(f)
    for name, schema in sorted(sch.items()):
        try:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
        except jsonschema.SchemaError as e:
            failures.append("the schema of '%s' is not a valid schema: %s" % (name, e.message))
            continue
        if name not in runs:
            failures.append("'%s' is documented in %s but the test never runs it" % (name, docs))
            continue
        for f in runs[name]:
            try:
                data = json.load(open(f, encoding="utf-8"))
            except ValueError as e:
                failures.append("%s (%s): not JSON: %s" % (f, name, e))
                continue
            errors = sorted(cls(schema).iter_errors(data), key=lambda e: list(e.path))
            for e in errors[:5]:
                failures.append("%s (%s): at /%s: %s" % (
                    f, name, "/".join(str(p) for p in e.path), e.message))
    for name in sorted(set(runs) - set(sch)):
        failures.append("the test ran '%s' but %s has no schema for it" % (name, docs))
    documented = {n.split(" --")[0] for n in sch}
    for cmd in sorted(help_commands(tlo)):
        if cmd not in documented:
            failures.append("'tellonce %s --help' offers --json, but %s has no schema for it"
                            % (cmd, docs))
    for f in failures:
        print("json_check: " + f, file=sys.stderr)
    print("json_check: %d schemas, %d outputs, %d failures" % (
        len(sch), sum(len(v) for v in runs.values()), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
