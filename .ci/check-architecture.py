#!/usr/bin/env python3
"""Keeps ARCHITECTURE.md true: every path it names exists.

Two kinds of names are checked:
- repository paths anywhere in the text (`crates/...`, `src/...`, `tests/...`,
  `docs/...`, `examples/...`, `benches/...`, `fuzz/...`, `tools/...`, `.ci/...`);
- the entries of the code map (the first fenced block), a tree in which an
  entry's indentation says which directory it sits in, and each line's first
  column lists names (`token.rs, json.rs`, `keys/`); a crate's entries
  (`crates/NAME/...`) are looked for in its `src/`.

Usage: check-architecture.py [ARCHITECTURE.md]. Prints each missing path;
exits 1 if there is any.
"""
import os
import re
import sys

ROOTS = ("crates/", "src/", "tests/", "docs/", "examples/", "benches/", "fuzz/", "tools/", ".ci/")


def text_paths(text):
    for m in re.finditer(r"[`\s(]((?:%s)[A-Za-z0-9_./-]*[A-Za-z0-9_/])" % "|".join(map(re.escape, ROOTS)), text):
        yield m.group(1).rstrip(".")


def code_map_paths(text):
    block = re.search(r"```\n(.*?)```", text, re.S)
    if not block:
        return
    stack = []  # (indent, directory)
    for line in block.group(1).split("\n"):
        if not line.strip() or line.startswith(" " * 20):
            continue  # blank, or a continuation of the description column
        indent = len(line) - len(line.lstrip(" "))
        first = re.split(r"\s{2,}", line.strip())[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        base = "".join(d for _, d in stack)
        names = [n.strip() for n in first.split(",")]
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+/?", name) or "." not in name and not name.endswith("/"):
                continue
            for part in name.split():
                yield base + part
        last = names[-1]
        if last.endswith("/") and " " not in last:
            stack.append((indent, last))


def exists(root, p):
    if os.path.exists(os.path.join(root, p)):
        return True
    m = re.fullmatch(r"(crates/[^/]+/)(.+)", p)
    return bool(m) and os.path.exists(os.path.join(root, m.group(1), "src", m.group(2)))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "ARCHITECTURE.md"
    root = os.path.dirname(os.path.abspath(path))
    text = open(path, encoding="utf-8").read()
    missing = sorted({p for p in list(text_paths(text)) + list(code_map_paths(text))
                      if not exists(root, p)})
    for p in missing:
        print(f"{path}: names {p}, which does not exist")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
