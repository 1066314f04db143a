"""Extract the facts the fake Bot API server needs from a telegram-bot-api-spec ``api.json``.

Usage (from the repository root)::

    uv run python tests/botapi/extract_spec.py ../shared/telegram/api-10.0.json

Reads the machine-readable Bot API specification scraped by
https://github.com/PaulSonOfLars/telegram-bot-api-spec (MIT, Copyright (c) 2020 Paul Larsen) and
writes ``tests/botapi/api-<version>.facts.json`` next to this script: for every method its
parameters (name, types, required) and return types; for every type its fields, subtypes /
subtype_of and, for subtypes of an abstract type, the discriminator literal parsed from the field
description ("Type of the result, must be article", 'always "creator"').  Descriptions are left
out to keep the file small; the tests never need the network or the original file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

# Known upstream snapshots (sha256 of api.json -> commit of PaulSonOfLars/telegram-bot-api-spec).
KNOWN_SOURCES = {
    "39964d8f0976793f32bcba2e9dfc931e2b1573fdc2f6c4e8882511708f7a50ff": (
        "9dca8b0ecbf37af83615fc4563db3523a98d182f"
    ),
    "0950def6a1c900792c3a1d65ab13c1ee76d2f400a761df1aa0e6245e2355070a": (
        "160fd99507e1c7c77e92dc90f5993d724735b51c"
    ),
}
REPOSITORY = "https://github.com/PaulSonOfLars/telegram-bot-api-spec"

DISCRIMINATOR_FIELDS = ("type", "source", "status")
# "Type of the result, must be article" / 'Type of the message origin, always "user"'
_LITERAL_RE = re.compile(r"\b(?:must be|always)\s+[\"“]?([a-z][a-z0-9_]*)[\"”]?")


def _field(f: dict) -> dict:
    return {"name": f["name"], "types": list(f["types"]), "required": bool(f["required"])}


def _discriminator(type_def: dict) -> dict | None:
    for f in type_def.get("fields", []):
        if f["name"] not in DISCRIMINATOR_FIELDS or f["types"] != ["String"]:
            continue
        m = _LITERAL_RE.search(f.get("description", ""))
        if m:
            return {"field": f["name"], "value": m.group(1)}
    return None


def extract(spec: dict) -> dict:
    methods = {}
    for name, m in spec["methods"].items():
        methods[name] = {
            "returns": list(m.get("returns", [])),
            "fields": [_field(f) for f in m.get("fields", [])],
        }
    types = {}
    for name, t in spec["types"].items():
        out: dict = {"fields": [_field(f) for f in t.get("fields", [])]}
        if t.get("subtypes"):
            out["subtypes"] = list(t["subtypes"])
        if t.get("subtype_of"):
            out["subtype_of"] = list(t["subtype_of"])
            disc = _discriminator(t)
            if disc:
                out["discriminator"] = disc
        types[name] = out
    return {"methods": methods, "types": types}


def _check(facts: dict) -> list[str]:
    """Sanity checks: every referenced type exists, abstract types resolve."""
    scalars = {"Integer", "Float", "Boolean", "String", "InputFile"}
    problems = []
    known = set(facts["types"]) | scalars
    for kind in ("methods", "types"):
        for name, d in facts[kind].items():
            for f in d["fields"]:
                for t in f["types"]:
                    base = t
                    while base.startswith("Array of "):
                        base = base[len("Array of ") :]
                    if base not in known:
                        problems.append(f"{kind[:-1]} {name}.{f['name']}: unknown type {t!r}")
    for name, d in facts["types"].items():
        for sub in d.get("subtypes", []):
            if sub not in facts["types"]:
                problems.append(f"type {name}: unknown subtype {sub}")
    return problems


def dump(doc: dict) -> str:
    """JSON with one method / type per line (small, and diffs stay readable)."""
    lines = ["{"]
    lines.append(f'"source": {json.dumps(doc["source"], ensure_ascii=False)},')
    for i, section in enumerate(("methods", "types")):
        lines.append(f'"{section}": {{')
        items = list(doc[section].items())
        for j, (name, d) in enumerate(items):
            sep = "," if j < len(items) - 1 else ""
            lines.append(f"{json.dumps(name)}: {json.dumps(d, ensure_ascii=False, separators=(',', ':'))}{sep}")
        lines.append("}," if i == 0 else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", type=Path, help="path to telegram-bot-api-spec api.json (e.g. api-10.0.json)")
    ap.add_argument("-o", "--output", type=Path, default=None, help="output file (default: api-<ver>.facts.json here)")
    ap.add_argument("--commit", default=None, help="upstream commit of the spec file (default: looked up by sha256)")
    args = ap.parse_args(argv)

    raw = args.spec.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    spec = json.loads(raw)
    m = re.search(r"(\d+\.\d+)", spec.get("version", ""))
    if not m:
        print(f"cannot find a version number in {spec.get('version')!r}", file=sys.stderr)
        return 2
    version = m.group(1)
    commit = args.commit or KNOWN_SOURCES.get(sha, "unknown")

    facts = extract(spec)
    problems = _check(facts)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    doc = {
        "source": {
            "version": spec.get("version"),
            "release_date": spec.get("release_date"),
            "changelog": spec.get("changelog"),
            "repository": REPOSITORY,
            "file": "api.json",
            "commit": commit,
            "sha256": sha,
            "license": "MIT, Copyright (c) 2020 Paul Larsen (see LICENSE.telegram-bot-api-spec)",
            "generated_by": "tests/botapi/extract_spec.py",
        },
        **facts,
    }
    out = args.output or Path(__file__).resolve().parent / f"api-{version}.facts.json"
    out.write_text(dump(doc), encoding="utf-8")
    n_disc = sum(1 for t in facts["types"].values() if "discriminator" in t)
    print(
        f"wrote {out}: {len(facts['methods'])} methods, {len(facts['types'])} types "
        f"({n_disc} discriminated subtypes), {out.stat().st_size} bytes; source sha256 {sha}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
