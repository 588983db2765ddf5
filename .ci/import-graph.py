"""Module import graph of rampgate-core (code only, doc links ignored); exits 1 on a cycle.

The core's modules sit in subsystem folders (verify/, contract/, ops/,
protocol/) and lib.rs lifts each to a short path (`use verify::{key, ...};`,
`pub use ops::audit;`): a file belongs to the module it is lifted as, or else
to its top-level folder or file.
"""
import re, os, sys
src = sys.argv[1] if len(sys.argv) > 1 else 'crates/rampgate-core/src'
lib = open(os.path.join(src, 'lib.rs')).read()
lifted = {}  # 'verify/key' -> 'key'
for group, items in re.findall(r'^(?:pub )?use ([a-z_0-9]+)::\{?([^;]*?)\}?;', lib, re.M):
    if os.path.isdir(os.path.join(src, group)):
        for it in re.split(r'[,\s]+', items):
            if it:
                lifted[group + '/' + it] = it
root_items = {}
for m, items in re.findall(r'pub use ([a-z_0-9]+)::\{?([^;]*?)\}?;', lib):
    for it in re.split(r'[,\s]+', items):
        if it and it not in lifted.values():
            root_items[it] = m


def module_of(rel):
    parts = rel[:-3].split('/')
    if len(parts) > 1 and parts[0] + '/' + parts[1] in lifted:
        return lifted[parts[0] + '/' + parts[1]]
    return parts[0]

mods = {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)
        top = module_of(rel)
        if top == 'lib' or rel[:-3].split('/')[-1] == 'mod' and rel.count('/') == 1 and top in ('verify', 'ops', 'protocol'):
            continue
        code = open(os.path.join(root, f)).read().split('#[cfg(test)]')[0]
        code = '\n'.join(l for l in code.splitlines() if not l.strip().startswith('//'))
        deps = mods.setdefault(top, set())
        for d in re.findall(r'crate::([a-z_0-9]+)', code):
            d = root_items.get(d, d)
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
