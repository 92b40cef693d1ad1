#!/usr/bin/env python3
"""Writes fuzz/corpus-seeds/<target>/ from corpus/: the PATCH bodies of corpus/idp for
parse_patch and apply (apply also gets each body against a Group built from the corpus's
group create, after a NUL byte), the filter seeds of corpus/filters for parse_filter and
evaluate, and the PATCH-path seeds for parse_path. roundtrip builds its trees from raw
bytes and needs no seeds.
Run from the repository root: python3 fuzz/make-seeds.py"""
import json, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "fuzz" / "corpus-seeds"
fill = {"id": "2819c223", "external_id": "bjensen", "user_name": "bjensen@example.com",
        "name": "Tour Guides", "member": "e9e30dba", "added": "a1", "removed": "e9e30dba",
        "password": "t1meMa$heen", "value": "v"}

def filled(text):
    return re.sub(r"\{\{(\w+)\}\}", lambda m: fill.get(m.group(1), "x"), text)

variants = sorted((root / "corpus" / "idp").glob("*/*.json"))
bodies, group = [], None
for v in variants:
    req = json.loads(filled(v.read_text()))["request"]
    if req["method"] == "PATCH":
        bodies.append((f"{v.parent.name}-{v.stem}", req["body"], req["path"].startswith("/Groups")))
    elif req["method"] == "POST" and req["path"] == "/Groups" and group is None:
        group = dict(req["body"], id="2819c223", members=[{"value": "e9e30dba"}])

for target in ["parse_patch", "apply", "evaluate", "parse_filter", "parse_path"]:
    (out / target).mkdir(parents=True, exist_ok=True)
for name, body, on_group in bodies:
    text = json.dumps(body)
    (out / "parse_patch" / name).write_text(text)
    (out / "apply" / name).write_text(text)
    if on_group and group is not None:
        (out / "apply" / (name + "-group")).write_bytes(
            text.encode() + b"\0" + json.dumps(group).encode())
for sub in ["valid", "lenient"]:
    for f in sorted((root / "corpus" / "filters" / sub).glob("*.txt")):
        (out / "evaluate" / f"{sub}-{f.name}").write_bytes(f.read_bytes())
for sub in ["valid", "invalid", "lenient"]:
    for f in sorted((root / "corpus" / "filters" / sub).glob("*.txt")):
        (out / "parse_filter" / f"{sub}-{f.name}").write_bytes(f.read_bytes())
    for f in sorted((root / "corpus" / "filters" / "paths" / sub).glob("*.txt")):
        (out / "parse_path" / f"{sub}-{f.name}").write_bytes(f.read_bytes())
print(f"{len(bodies)} PATCH bodies, group seed: {group is not None}")
