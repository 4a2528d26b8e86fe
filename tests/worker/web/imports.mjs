// imports.mjs: the review page's module graph (worker/web/*.js, imported as /static/NAME.js),
// printed one module a line with what it imports, lowest layer first; exits 1 when modules import
// each other in a loop, naming each loop. Core ESLint has no import/no-cycle, and a plugin for one
// rule is more to install than these lines. Usage: node imports.mjs [DIR]   (default worker/web)
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] || 'worker/web';
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .sort();
const graph = new Map();
let bad = false;
for (const f of files) {
  const src = fs.readFileSync(path.join(dir, f), 'utf8');
  const deps = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'/gm)) {
    const spec = m[1] || m[2];
    const name = spec.match(/^\/static\/([A-Za-z0-9._-]+\.js)$/);
    if (!name || !files.includes(name[1])) {
      console.error(`imports: ${f} imports '${spec}', not a page module /static/NAME.js`);
      bad = true;
      continue;
    }
    deps.push(name[1]);
  }
  graph.set(f, deps);
}

// Strongly connected components (Tarjan): a component of more than one module, or a module that
// imports itself, is a loop.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const loops = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v)) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) {
      low.set(v, Math.min(low.get(v), idx.get(w)));
    }
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || graph.get(v).includes(v)) loops.push(comp.sort());
  }
}
for (const f of files) if (!idx.has(f)) visit(f);

// Layers over the loops taken whole: a module stands one above the highest module outside its own
// loop that it imports, so the list reads from the ground up.
const comp = new Map();
for (const f of files) comp.set(f, [f]);
for (const l of loops) for (const f of l) comp.set(f, l);
const layer = new Map();
function height(f) {
  if (!layer.has(f)) {
    const mine = comp.get(f);
    for (const m of mine) layer.set(m, 0); // guards the walk; the loop's height follows
    const out = mine.flatMap((m) => graph.get(m)).filter((d) => !mine.includes(d));
    const h = Math.max(0, ...out.map((d) => height(d) + 1));
    for (const m of mine) layer.set(m, h);
  }
  return layer.get(f);
}
for (const f of files) height(f);
const order = [...files].sort((a, b) => layer.get(a) - layer.get(b) || a.localeCompare(b));
for (const f of order) {
  const deps = graph.get(f);
  console.log(`${layer.get(f)} ${f}${deps.length ? ` -> ${[...deps].sort().join(', ')}` : ''}`);
}
for (const l of loops) {
  const inside = l.flatMap((f) =>
    graph
      .get(f)
      .filter((d) => l.includes(d))
      .map((d) => `${f} -> ${d}`),
  );
  console.error(`imports: loop among ${l.join(', ')}: ${inside.join('; ')}`);
  bad = true;
}
if (bad) process.exit(1);
console.log(`imports: ${files.length} modules, no loops`);
