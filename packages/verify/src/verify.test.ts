/** The seal's check, alone and as the command line runs it, on seals signed here with a fresh Ed25519 key. */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryHash, jwkThumbprint, sealPayload, verifySeal, type Seal, type SealJwk } from './index.js';

const file = Buffer.from('a recording, byte for byte\n'.repeat(1000));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
const jwk: SealJwk = { kty: 'OKP', crv: 'Ed25519', x, kid: jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }) };

function sealOf(bytes: Buffer, over: Partial<Seal> = {}): Seal {
  const body = {
    recordingId: '0b7c3c9e-7f5a-4c1e-9d6a-2f1e8b0c4a11',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.length,
    durationMs: 12_345,
    mimeType: 'video/webm',
    userId: 'u-1',
    sessionId: 's-1',
    createdAt: '2026-12-07T10:00:00.000Z',
    endedAt: '2026-12-07T10:00:12.345Z',
    endedBy: 'stop' as const,
    sealedAt: '2026-12-07T10:00:13.000Z',
    keyId: jwk.kid,
    ...over,
  };
  return { ...body, signature: sign(null, sealPayload(body), privateKey).toString('base64url') };
}

const stream = (b: Buffer) => Readable.from([b.subarray(0, 100), b.subarray(100)]);

describe('verifySeal', () => {
  it('holds for the sealed file and a published key', async () => {
    const v = await verifySeal(stream(file), sealOf(file), [jwk]);
    expect(v).toMatchObject({ ok: true, failed: [] });
    expect(v.lines.join('\n')).toMatch(/signature holds/);
  });

  it('names what differs: a changed byte, a changed field, an unknown key, no keys', async () => {
    const changed = Buffer.from(file);
    changed[500] = changed[500]! ^ 1;
    expect((await verifySeal(stream(changed), sealOf(file), [jwk])).failed).toEqual(['sha256']);
    const longer = Buffer.concat([file, Buffer.from('x')]);
    expect((await verifySeal(stream(longer), sealOf(file), [jwk])).failed).toEqual(['sha256', 'size']);
    const edited = { ...sealOf(file), userId: 'someone-else' };
    expect((await verifySeal(stream(file), edited, [jwk])).failed).toEqual(['signature']);
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as { x: string };
    const otherJwk: SealJwk = { kty: 'OKP', crv: 'Ed25519', x: other.x, kid: jwk.kid }; // claims the kid
    expect((await verifySeal(stream(file), sealOf(file), [otherJwk])).failed).toEqual(['key']);
    expect((await verifySeal(stream(file), sealOf(file), [])).failed).toEqual(['key']);
    expect((await verifySeal(stream(file), sealOf(file), null)).ok).toBe(false);
  });

  it('signs the JCS form: members sorted, no spaces, numbers as JSON writes them', () => {
    const p = sealPayload({ ...sealOf(file), durationMs: null });
    const text = p.toString('utf8');
    expect(text.startsWith('{"createdAt":"2026-12-07T10:00:00.000Z","durationMs":null,"endedAt":')).toBe(true);
    expect(text).not.toContain('signature');
    expect(text).not.toMatch(/[:,] /);
  });
});

describe('sortie-verify', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sortie-verify-'));
    await writeFile(path.join(dir, 'rec.webm'), file);
    await writeFile(path.join(dir, 'seal.json'), JSON.stringify(sealOf(file)));
    await writeFile(path.join(dir, 'keys.json'), JSON.stringify({ keys: [jwk] }));
    const changed = Buffer.from(file);
    changed[0] = changed[0]! ^ 1;
    await writeFile(path.join(dir, 'changed.webm'), changed);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const run = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', path.join(import.meta.dirname, 'cli.ts'), ...args],
        // From the package's folder, as pnpm runs its script; the paths are read from INIT_CWD.
        { cwd: path.join(import.meta.dirname, '..'), env: { ...process.env, INIT_CWD: dir } },
      );
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout + e.stderr };
    }
  };

  it('exits 0 when file, seal and key agree, and 1 naming what differs', async () => {
    const good = await run('rec.webm', 'seal.json', '--keys', 'keys.json');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^OK: rec\.webm is recording /m);
    const bad = await run('changed.webm', 'seal.json', '--keys', 'keys.json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/sha256 differs/);
    expect(bad.stdout).toMatch(/^FAILED: sha256$/m);
    const unsigned = await run('rec.webm', 'seal.json');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toMatch(/signature not checked/);
    expect((await run('rec.webm')).code).toBe(2);
  }, 60_000);

  it('checks an audit export with --audit: 0 for an unbroken stretch, 1 naming the entry that breaks it', async () => {
    let prevHash: string | null = null;
    const entries = [1, 2, 3].map((seq) => {
      const content = {
        seq,
        id: `00000000-0000-4000-8000-00000000000${seq}`,
        at: `2026-12-07T10:00:0${seq}.000Z`,
        actorId: 'admin-1',
        actorName: 'Ada',
        action: 'settings.update' as const,
        recordingId: null,
        details: { autoRecord: seq % 2 === 0 },
        prevHash,
      };
      const hash = auditEntryHash(content);
      prevHash = hash;
      return { ...content, hash };
    });
    await writeFile(path.join(dir, 'audit.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const good = await run('--audit', 'audit.jsonl');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/3 entries hold; the last is seq 3/);
    const changed = entries.map((e) => (e.seq === 2 ? { ...e, actorName: 'Mallory' } : e));
    await writeFile(path.join(dir, 'changed.jsonl'), changed.map((e) => JSON.stringify(e)).join('\n'));
    const bad = await run('--audit', 'changed.jsonl');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/entry seq 2 .*its content is not what its hash was made of/);
  }, 60_000);
});
