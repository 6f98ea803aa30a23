#!/usr/bin/env -S npx tsx
/**
 * sortie-verify <file> <seal.json> [--keys keys.json]: exit 0 when the file is the one the seal names and the
 * seal's signature holds for one of the keys; 1 when anything differs (each check is printed); 2 on bad use.
 * sortie-verify --audit <export.jsonl>: the same for an export of the audit trail's hash chain.
 * Paths are read from where the command was typed (pnpm runs scripts in the package's folder: INIT_CWD).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { verifyAuditExport, verifySeal, type Seal, type SealJwk } from './index.js';

const USAGE = 'usage: sortie-verify <file> <seal.json> [--keys keys.json]\n       sortie-verify --audit <export.jsonl>';

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const base = process.env.INIT_CWD ?? process.cwd();
  const at = (p: string) => path.resolve(base, p);
  if (args[0] === '--audit') {
    if (args.length !== 2) return usage('--audit takes one file');
    const verdict = await verifyAuditExport(
      createInterface({ input: createReadStream(at(args[1]!)), crlfDelay: Infinity }),
    );
    for (const line of verdict.lines) console.log(line);
    console.log(
      verdict.ok ? `OK: ${args[1]} is an unbroken stretch of the audit chain` : `FAILED: ${verdict.failed.join(', ')}`,
    );
    return verdict.ok ? 0 : 1;
  }
  let keysPath: string | null = null;
  const k = args.indexOf('--keys');
  if (k >= 0) {
    keysPath = args[k + 1] ?? null;
    if (!keysPath) return usage('--keys needs a file');
    args.splice(k, 2);
  }
  if (args.length !== 2) return usage(`expected a file and a seal, got ${args.length} arguments`);
  const seal = JSON.parse(await readFile(at(args[1]!), 'utf8')) as Seal;
  let keys: SealJwk[] | null = null;
  if (keysPath) {
    const doc = JSON.parse(await readFile(at(keysPath), 'utf8')) as { keys?: SealJwk[] } | SealJwk[];
    keys = Array.isArray(doc) ? doc : (doc.keys ?? []);
  }
  const verdict = await verifySeal(createReadStream(at(args[0]!)), seal, keys);
  for (const line of verdict.lines) console.log(line);
  console.log(
    verdict.ok ? `OK: ${args[0]} is recording ${seal.recordingId} as sealed` : `FAILED: ${verdict.failed.join(', ')}`,
  );
  return verdict.ok ? 0 : 1;
}

function usage(why: string): number {
  console.error(`${why}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  },
);
