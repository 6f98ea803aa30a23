#!/usr/bin/env node
/**
 * `pnpm house`: the figures of how the code is laid out, for anyone to rerun before and after a
 * refactor: the largest source files (tests apart) and every function, method or arrow function
 * longer than 80 lines, as TypeScript's own parser sees them. Prints; asserts nothing.
 *
 * Source files are the TypeScript under apps/* and packages/* (src, and the server's bench), without
 * tests, fixtures, generated or vendored code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// TypeScript is a dependency of the packages, not of the root: take the server's.
const ts = createRequire(path.join(root, 'apps/server/package.json'))('typescript');

const LONG = 80;
const TOP = 10;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'test', 'tests', '__fixtures__', 'vendor', 'public', 'migrations']);

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) {
        if (!SKIP_DIRS.has(name) && !name.startsWith('.')) walk(p);
      } else if (/\.tsx?$/.test(name) && !/\.(test|spec|d)\.tsx?$/.test(name) && !/\.generated\./.test(name)) {
        out.push(p);
      }
    }
  };
  for (const top of ['apps', 'packages'])
    for (const pkg of readdirSync(path.join(root, top))) {
      const src = path.join(root, top, pkg, 'src');
      if (statSync(src, { throwIfNoEntry: false })?.isDirectory()) walk(src);
    }
  return out.sort();
}

/** The name a reader would search for: `Class.method`, `function`, or the variable an arrow is bound to. */
function nameOf(node) {
  const own = node.name && ts.isIdentifier(node.name) ? node.name.text : null;
  const parent = node.parent;
  if (ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node)) {
    const cls = parent && (ts.isClassDeclaration(parent) || ts.isClassExpression(parent)) ? parent.name?.text : null;
    const method = ts.isConstructorDeclaration(node) ? 'constructor' : (node.name?.getText() ?? '?');
    return cls ? `${cls}.${method}` : method;
  }
  if (own) return own;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (parent && ts.isCallExpression(parent)) return `(callback to ${parent.expression.getText().slice(0, 40)})`;
  return '(anonymous)';
}

const files = [];
const functions = [];
for (const file of sources()) {
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(root, file);
  files.push({ rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? 4 : 3);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      if (end - start + 1 > LONG)
        functions.push({ name: nameOf(node), where: `${rel}:${start}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
const total = files.reduce((n, f) => n + f.lines, 0);
console.log(`${files.length} source files, ${total} lines (tests, fixtures and migrations apart)\n`);
console.log(`The ${TOP} largest:`);
for (const f of files.slice(0, TOP)) console.log(`  ${String(f.lines).padStart(5)}  ${f.rel}`);
console.log(`\n${functions.length} functions over ${LONG} lines:`);
for (const f of functions) console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  (${f.where})`);
