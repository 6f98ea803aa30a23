/**
 * Seals (seals/): a ready recording gets a seal seconds later, whose SHA-256 and size are those of the file
 * as downloaded and whose signature holds for a key GET /api/seal-keys publishes, checked with the offline
 * verifier (@sortie/verify, written apart from the service's signer). Keys: generated once for every replica
 * on one database, or SORTIE_SEAL_PRIVATE_KEY; a rotation keeps the old key published. Runs on both backends.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Seal, SealKeys } from '@sortie/contract';
import { verifySeal } from '@sortie/verify';
import { ConfigError } from '../src/config.js';
import { makeRecording } from './admin-fixtures.js';
import { testApp, testConfig, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

async function download(app: TestApp, id: string, who: Record<string, string>): Promise<Buffer> {
  const r = await app.json('POST', `/api/recordings/${id}/download-url`, undefined, who);
  expect(r.status).toBe(200);
  const { url } = (await r.json()) as { url: string };
  const file = await app.send(url);
  expect(file.status).toBe(200);
  return Buffer.from(await file.arrayBuffer());
}

async function sealOf(app: TestApp, id: string, who: Record<string, string>): Promise<Response> {
  return app.app.request(`/api/recordings/${id}/seal`, { headers: who });
}

async function keys(app: TestApp): Promise<SealKeys> {
  const r = await app.app.request('/api/seal-keys'); // no token: anyone may check a seal
  expect(r.status).toBe(200);
  return (await r.json()) as SealKeys;
}

describe('a ready recording', () => {
  it('is sealed by the job: its downloaded file, its facts, and a signature the offline verifier accepts', async () => {
    const open = await makeRecording(t, 'recording');
    const before = await sealOf(t, open.id, t.auth.user);
    expect(before.status).toBe(409);
    expect(((await before.json()) as { error: { message: string } }).error.message).toMatch(/sealed once it is ready/);

    const made = await makeRecording(t, 'ready', { partSizes: [70_000] });
    expect((await sealOf(t, made.id, t.auth.user)).status).toBe(409); // ready, the job has not run yet
    expect(await t.service.jobs.sealer.run()).toBeGreaterThanOrEqual(1);
    const r = await sealOf(t, made.id, t.auth.user);
    expect(r.status).toBe(200);
    const seal = (await r.json()) as Seal;
    const file = await download(t, made.id, t.auth.user);
    const row = (await t.service.recordings.rowById(made.id))!;
    expect(seal).toMatchObject({
      recordingId: made.id,
      sizeBytes: file.length,
      durationMs: row.durationMs,
      mimeType: row.mimeType,
      userId: row.userId,
      sessionId: row.sessionId,
      createdAt: row.createdAt.toISOString(),
      endedAt: row.completedAt!.toISOString(),
      endedBy: 'stop',
    });
    expect(seal.sha256).toMatch(/^[0-9a-f]{64}$/);
    const published = await keys(t);
    const verdict = await verifySeal(Readable.from([file]), seal, published.keys);
    expect(verdict.lines.join('\n')).toMatch(/signature holds/);
    expect(verdict.ok).toBe(true);

    // One byte changed, or one fact of the seal: the verifier names it.
    const changed = Buffer.from(file);
    changed[1234] = changed[1234]! ^ 0xff;
    expect((await verifySeal(Readable.from([changed]), seal, published.keys)).failed).toEqual(['sha256']);
    expect((await verifySeal(Readable.from([file]), { ...seal, userId: 'mallory' }, published.keys)).failed).toEqual([
      'signature',
    ]);

    // The owner and an administrator read it; another user finds no such recording.
    expect((await sealOf(t, made.id, t.auth.admin)).status).toBe(200);
    expect((await sealOf(t, made.id, t.auth.other)).status).toBe(404);
    expect((await t.app.request(`/api/recordings/${made.id}/seal`)).status).toBe(401);
    // The job does not seal twice; the seal goes with its recording.
    expect(await t.service.jobs.sealer.run()).toBe(0);
    expect((await t.app.request(`/api/recordings/${made.id}`, { method: 'DELETE', headers: t.auth.user })).status).toBe(
      204,
    );
    expect(await t.service.jobs.sealer.get(made.id)).toBeNull();
  }, 60_000);
});

describe('the keys', () => {
  it('are one generated key for every replica on a database; a configured key signs after it, and both stay published', async () => {
    const generated = (await keys(t)).keys;
    expect(generated).toHaveLength(1);
    expect(generated[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    // A second replica on the same database signs with the same key.
    const replica = await testApp({ database: t.database });
    try {
      expect((await keys(replica)).keys).toEqual(generated);
    } finally {
      await replica.close({ keepStorage: true });
    }

    // A rotation: a replica started with SORTIE_SEAL_PRIVATE_KEY signs with it; the generated key stays listed.
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const rotated = await testApp({ database: t.database, env: { SORTIE_SEAL_PRIVATE_KEY: pem } });
    try {
      const made = await makeRecording(rotated, 'ready');
      expect(await rotated.service.jobs.sealer.run()).toBeGreaterThanOrEqual(1);
      const seal = (await (await sealOf(rotated, made.id, rotated.auth.user)).json()) as Seal;
      const listed = (await keys(rotated)).keys;
      expect(listed.map((k) => k.kid)).toEqual([seal.keyId, generated[0]!.kid]);
      const file = await download(rotated, made.id, rotated.auth.user);
      expect((await verifySeal(Readable.from([file]), seal, listed)).ok).toBe(true);
      // A seal made before the rotation still verifies against what is published now.
      const old = await makeRecording(t, 'ready');
      await t.service.jobs.sealer.run();
      const oldSeal = (await (await sealOf(t, old.id, t.auth.user)).json()) as Seal;
      expect(oldSeal.keyId).toBe(generated[0]!.kid);
      expect((await verifySeal(Readable.from([await download(t, old.id, t.auth.user)]), oldSeal, listed)).ok).toBe(
        true,
      );
    } finally {
      await rotated.close({ keepStorage: true });
    }
  }, 60_000);

  it('refuses a SORTIE_SEAL_PRIVATE_KEY that is not an Ed25519 private key, naming the variable', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(() => testConfig({ SORTIE_SEAL_PRIVATE_KEY: rsa.toString() })).toThrow(ConfigError);
    expect(() => testConfig({ SORTIE_SEAL_PRIVATE_KEY: rsa.toString() })).toThrow(/SORTIE_SEAL_PRIVATE_KEY.*Ed25519/);
    expect(() => testConfig({ SORTIE_SEAL_PRIVATE_KEY: 'not a key' })).toThrow(/neither a PEM private key nor/);
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    expect(testConfig({ SORTIE_SEAL_PRIVATE_KEY: JSON.stringify(jwk) }).sealPrivateKey).toContain('"d"');
  });
});
