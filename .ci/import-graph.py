"""Module import graph of rampgate-core (code only, doc links ignored); exits 1 on a cycle."""
import re, os, sys
src = sys.argv[1] if len(sys.argv) > 1 else 'crates/rampgate-core/src'
lib = open(os.path.join(src, 'lib.rs')).read()
root_items = {}
for m, items in re.findall(r'pub use ([a-z_]+)::\{?([^;]*?)\}?;', lib):
    for it in re.split(r'[,\s]+', items):
        if it:
            root_items[it] = m
mods = {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)
        top = rel[:-3].split('/')[0]
        if top == 'lib':
            continue
        code = open(os.path.join(root, f)).read().split('#[cfg(test)]')[0]
        code = '\n'.join(l for l in code.splitlines() if not l.strip().startswith('//'))
        deps = mods.setdefault(top, set())
        for d in re.findall(r'crate::([a-z_]+)', code):
            if d != top:
                deps.add(d)
        names = re.findall(r'crate::([A-Z][A-Za-z]+)', code)
        for grp in re.findall(r'use crate::\{([^}]*)\}', code):
            names += re.split(r'[,\s]+', grp)
        for it in names:
            if it in root_items and root_items[it] != top:
                deps.add(root_items[it])
for k in sorted(mods):
    print(k, '->', ' '.join(sorted(mods[k])))
state, cycles = {}, []
def dfs(u, stack):
    state[u] = 1
    stack.append(u)
    for v in sorted(mods.get(u, ())):
        if state.get(v) == 1:
            cycles.append(stack[stack.index(v):] + [v])
        elif not state.get(v):
            dfs(v, stack)
    stack.pop()
    state[u] = 2
for m in sorted(mods):
    if not state.get(m):
        dfs(m, [])
for c in cycles:
    print('cycle:', ' -> '.join(c))
sys.exit(1 if cycles else 0)
