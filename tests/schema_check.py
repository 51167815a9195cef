#!/usr/bin/python3
"""schema_check.py: hold the C loader and the JSON Schemas in specs/ to the
same manifests. Every example and valid fixture must pass both `virtform
validate` and its kind's schema; every invalid fixture must fail both (the
schema half is waived for names listed, with a reason, in
tests/fixtures/invalid/SCHEMA-INEXPRESSIBLE). Not a test of the loader's
messages: tests/fixtures/invalid/*.expected are compared by the unit tests.

Usage: /usr/bin/python3 tests/schema_check.py [--schema-only] PATH/TO/virtform
Exit status: 0 all passed, 1 any failure, 2 usage.
"""

import json
import os
import re
import subprocess
import sys

import yaml
from jsonschema import Draft202012Validator, RefResolver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(ROOT, "specs")
EXAMPLES = os.path.join(ROOT, "examples")
VALID = os.path.join(ROOT, "tests", "fixtures", "valid")
INVALID = os.path.join(ROOT, "tests", "fixtures", "invalid")
INEXPRESSIBLE = os.path.join(INVALID, "SCHEMA-INEXPRESSIBLE")
KIND_SCHEMAS = {
    "StoragePool": "storagepool.schema.json",
    "Volume": "volume.schema.json",
    "Domain": "domain.schema.json",
    "Network": "network.schema.json",
}
VALIDATE_TIMEOUT = 60


# ---- YAML as the C loader reads it --------------------------------------
# PyYAML resolves plain scalars by YAML 1.1 (yes/no/on/off are booleans,
# 0755 is octal, 2024-01-01 is a date, `<<` merges) and silently keeps the
# last of two equal keys. virtform reads YAML 1.2's core schema through
# libyaml, takes only lower-case true/false as booleans
# (controller/load/decode_value.c) and rejects duplicate keys, so this loader does
# the same; the schema then sees the values the C loader sees.

class CoreLoader(yaml.SafeLoader):
    pass


CoreLoader.yaml_implicit_resolvers = {}
for tag, regexp, first in (
        ("tag:yaml.org,2002:bool",
         r"^(?:true|false)$", "tf"),
        ("tag:yaml.org,2002:int",
         r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        ("tag:yaml.org,2002:float",
         r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])):
    CoreLoader.add_implicit_resolver(tag, re.compile(regexp), list(first))


def _core_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _core_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "unhashable mapping key", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found duplicate key %r (first at line %d)" % (key, seen[key] + 1),
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


CoreLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", _core_float)
CoreLoader.construct_mapping = _unique_mapping


def load_documents(path):
    """Every non-empty document of a file; raises yaml.YAMLError."""
    with open(path, "rb") as f:
        data = f.read()
    return [d for d in yaml.load_all(data, Loader=CoreLoader) if d is not None]


# ---- the schemas -----------------------------------------------------------

def load_validators():
    store = {}
    for name in os.listdir(SPECS):
        if name.endswith(".schema.json"):
            with open(os.path.join(SPECS, name)) as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
            store[schema["$id"]] = schema
            store[name] = schema

    def validator(name, pointer=None):
        schema = store[name]
        resolver = RefResolver(schema["$id"], schema, store=store)
        if pointer:
            schema = resolver.resolve("#" + pointer)[1]
        return Draft202012Validator(schema, resolver=resolver)

    kinds = {kind: validator(name) for kind, name in KIND_SCHEMAS.items()}
    return validator("common.schema.json", "/$defs/envelope"), kinds


def _where(error):
    path = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p
                   for p in error.absolute_path)
    return path.lstrip(".") or "(document)"


def schema_errors(doc, envelope, kinds):
    """Messages for one document; empty when it validates."""
    out = []
    for e in sorted(envelope.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        out.append("%s: %s" % (_where(e), e.message))
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind in kinds:
        for e in sorted(kinds[kind].iter_errors(doc), key=lambda e: list(e.absolute_path)):
            out.append("%s: %s" % (_where(e), e.message))
    return out


# ---- which files a directory holds (the loader's rules) ------------------

def skipped_name(name):
    return (name.startswith(".") or name.endswith(("~", ".swp", ".swx"))
            or (name.startswith("#") and name.endswith("#")))


def manifest_files(top):
    """*.yaml/*.yml under top, sorted by path, hidden files and editor
    temporaries skipped, symlinks followed only inside top."""
    real_top = os.path.realpath(top)
    found = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        kept = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            real = os.path.realpath(full)
            if skipped_name(d):
                continue
            if os.path.islink(full) and not (real + os.sep).startswith(real_top + os.sep):
                continue
            kept.append(d)
        dirnames[:] = sorted(kept)
        for name in filenames:
            full = os.path.join(dirpath, name)
            if skipped_name(name) or not name.endswith((".yaml", ".yml")):
                continue
            real = os.path.realpath(full)
            if not (real + os.sep).startswith(real_top + os.sep) or not os.path.isfile(real):
                continue
            found.append(full)
    return sorted(found)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- the checks ----------------------------------------------------------

class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, path, note=""):
        self.passed += 1
        print("ok %s%s" % (rel(path), note))

    def fail(self, path, why):
        self.failed += 1
        print("FAIL %s: %s" % (rel(path), why))


def run_validate(binary, path):
    """(exit status, first line of stderr) of `virtform validate PATH`."""
    try:
        p = subprocess.run([binary, "validate", path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=VALIDATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timed out after %ds" % VALIDATE_TIMEOUT
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    return p.returncode, (err[0] if err else "")


def check_valid_file(tally, path, binary, envelope, kinds):
    problems = []
    if binary:
        rc, err = run_validate(binary, path)
        if rc != 0:
            problems.append("virtform validate exited %s, want 0 (%s)" % (rc, err))
    try:
        docs = load_documents(path)
    except yaml.YAMLError as e:
        problems.append("YAML: %s" % str(e).replace("\n", " "))
        docs = []
    if not docs and not problems:
        problems.append("no documents")
    for i, doc in enumerate(docs):
        for msg in schema_errors(doc, envelope, kinds):
            problems.append("document %d: %s" % (i + 1, msg))
    if problems:
        tally.fail(path, "; ".join(problems))
    else:
        tally.ok(path)


def check_valid_dir(tally, path, binary):
    """The whole directory at once: catches clashes between files."""
    rc, err = run_validate(binary, path)
    if rc != 0:
        tally.fail(path, "virtform validate exited %s, want 0 (%s)" % (rc, err))
    else:
        tally.ok(path + os.sep, " (validate, whole directory)")


def read_inexpressible():
    """{name: reason} from SCHEMA-INEXPRESSIBLE; malformed lines are errors."""
    entries, errors = {}, []
    if not os.path.exists(INEXPRESSIBLE):
        return entries, errors
    with open(INEXPRESSIBLE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = re.match(r"^(\S+)\s+#\s*(\S.*)$", line)
            if not m:
                errors.append("line %d: want `NAME # reason`: %r" % (n, line))
                continue
            entries[m.group(1)] = m.group(2)
    return entries, errors


def invalid_fixtures():
    """[(name, path)] for NAME.yaml / NAME.yml files and NAME/ folders."""
    out = []
    if not os.path.isdir(INVALID):
        return out
    for entry in sorted(os.listdir(INVALID)):
        full = os.path.join(INVALID, entry)
        if os.path.isdir(full):
            out.append((entry, full))
        elif entry.endswith((".yaml", ".yml")):
            out.append((entry.rsplit(".", 1)[0], full))
    return out


def schema_rejects(path, envelope, kinds):
    """Why the schema (or the YAML loader) rejects a fixture, or None."""
    files = [path] if os.path.isfile(path) else manifest_files(path)
    for f in files:
        try:
            docs = load_documents(f)
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            return "%s: YAML loader: %s" % (rel(f), str(e).splitlines()[0])
        for i, doc in enumerate(docs):
            msgs = schema_errors(doc, envelope, kinds)
            if msgs:
                return "%s: document %d: %s" % (rel(f), i + 1, msgs[0])
    return None


def check_invalid(tally, name, path, binary, envelope, kinds, waived):
    problems = []
    expected = os.path.join(INVALID, name + ".expected")
    if not os.path.exists(expected):
        problems.append("missing %s" % rel(expected))
    if binary:
        rc, _ = run_validate(binary, path)
        if rc != 1:
            problems.append("virtform validate exited %s, want 1" % rc)
    why = schema_rejects(path, envelope, kinds)
    if name in waived:
        if why:
            problems.append("listed in SCHEMA-INEXPRESSIBLE but the schema rejects it (%s)" % why)
        note = " (schema waived: %s)" % waived[name]
    else:
        if not why:
            problems.append("the schema accepts it (list it in SCHEMA-INEXPRESSIBLE "
                            "with a reason if no schema can reject it)")
        note = ""
    if problems:
        tally.fail(path, "; ".join(problems))
    else:
        tally.ok(path, note)


def main(argv):
    args = argv[1:]
    schema_only = "--schema-only" in args
    args = [a for a in args if a != "--schema-only"]
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: %s [--schema-only] PATH/TO/virtform" % argv[0], file=sys.stderr)
        return 2
    binary = None if schema_only else os.path.abspath(args[0])
    if binary and not os.access(binary, os.X_OK):
        print("%s: %s is not an executable; use --schema-only to check the schemas alone"
              % (argv[0], args[0]), file=sys.stderr)
        return 2
    if schema_only:
        print("note: --schema-only: `virtform validate` not run")

    envelope, kinds = load_validators()
    tally = Tally()

    for top in (EXAMPLES, VALID):
        if not os.path.isdir(top):
            continue
        for f in manifest_files(top):
            check_valid_file(tally, f, binary, envelope, kinds)
    if binary:
        dirs = [os.path.join(EXAMPLES, d) for d in sorted(os.listdir(EXAMPLES))] \
            if os.path.isdir(EXAMPLES) else []
        dirs.append(VALID)   # as a whole: its hidden and editor files must be skipped
        for d in dirs:
            if os.path.isdir(d) and manifest_files(d):
                check_valid_dir(tally, d, binary)

    waived, errors = read_inexpressible()
    for e in errors:
        tally.fail(INEXPRESSIBLE, e)
    fixtures = invalid_fixtures()
    names = {n for n, _ in fixtures}
    for name in sorted(set(waived) - names):
        tally.fail(INEXPRESSIBLE, "%s names no fixture in %s" % (name, rel(INVALID)))
    for name, path in fixtures:
        check_invalid(tally, name, path, binary, envelope, kinds, waived)

    print("schema: %d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
