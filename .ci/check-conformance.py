#!/usr/bin/env python3
"""docs/conformance.md against the code: every test a row cites exists in the
file it names, every id a test tags (`conformance: <id>`) is a row of the
table, and no row is "planned"."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
table = (root / "docs/conformance.md").read_text()
rows = {}
for line in table.splitlines():
    m = re.match(r"\| (\d{4}-\d+|[A-Z]+-\d+) \|", line)
    if m:
        rows[m.group(1)] = line
errors = []
for rid, line in rows.items():
    cells = line.split(" | ")
    if cells[5].strip() == "planned":
        errors.append(f"{rid} is planned")
    # `file` › `fn`, `fn` ... ; each file's functions until the next file.
    for part in cells[6].split(";"):
        m = re.search(r"`([^`]+\.rs)` › (.*)", part)
        if not m:
            continue
        path = root / m.group(1)
        if not path.exists():
            errors.append(f"{rid}: {m.group(1)} does not exist")
            continue
        text = path.read_text()
        # Notes in parentheses name values, not tests.
        names = re.sub(r"\([^)]*\)", "", m.group(2))
        for name in re.findall(r"`(\w+)`", names):
            if not re.search(rf"fn {name}\b", text):
                errors.append(f"{rid}: no fn {name} in {m.group(1)}")
tagged = set()
for path in list(root.glob("crates/**/*.rs")) + list(root.glob("tests/**/*.rs")) + list(root.glob("src/**/*.rs")):
    if "target" in path.parts:
        continue
    for m in re.finditer(r"conformance: ((?:[0-9A-Z]+-\d+(?:, )?)+)", path.read_text()):
        tagged.update(re.findall(r"[0-9A-Z]+-\d+", m.group(1)))
for rid in sorted(tagged - set(rows)):
    errors.append(f"a test cites {rid}, which docs/conformance.md does not list")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
