/**
 * A bearer token's claims must be well-formed text: a lone UTF-16 surrogate (escaped in the JSON, in any
 * claim or in the header) or bytes that are not UTF-8 would reach PostgreSQL as U+FFFD and name another user.
 * Such tokens are 401; well-formed non-ASCII subjects (surrogate pairs included) keep working.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, testApp, token, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t?.close();
});

/** An HS256 token over these exact header and payload bytes (no JSON.stringify in between). */
function rawToken(header: string | Buffer, payload: string | Buffer): string {
  const enc = (b: string | Buffer) => Buffer.from(b).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`;
}
const exp = () => Math.floor(Date.now() / 1000) + 3600;
const bearer = (tk: string) => ({ authorization: `Bearer ${tk}` });

async function create(tk: string, sessionId: string) {
  return t.json('POST', '/api/recordings', { sessionId, mimeType: 'video/webm' }, bearer(tk));
}
async function listOwn(tk: string): Promise<string[]> {
  const res = await t.json('GET', '/api/recordings', undefined, bearer(tk));
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { id: string }[] }).items.map((r) => r.id);
}

describe('bearer tokens whose text is not well-formed', () => {
  it('sub "x\\ud800" is 401, and so cannot own what the token of "x\\uFFFD" reads or deletes', async () => {
    const lone = await token({ sub: 'x\ud800' });
    // hono's sign writes the lone surrogate escaped: the JSON text holds \ud800.
    expect(Buffer.from(lone.split('.')[1]!, 'base64url').toString()).toContain('\\ud800');
    const res = await create(lone, 'lone-surrogate');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const replacement = await token({ sub: 'x\ufffd' });
    expect(await listOwn(replacement)).toEqual([]);
    // The one who really is x\uFFFD is an ordinary user, and sees only their own.
    const own = await create(replacement, 'replacement-char');
    expect(own.status).toBe(201);
    expect(await listOwn(replacement)).toEqual([((await own.json()) as { id: string }).id]);
  });

  const LONE: [string, Record<string, unknown>][] = [
    ['a low surrogate alone in sub', { sub: '\udc00x' }],
    ['surrogates in the wrong order in sub', { sub: 'a\udc00\ud800b' }],
    ['a lone surrogate in name', { sub: 'u-1', name: 'Ada \ud800' }],
    ['a lone surrogate in roles', { sub: 'u-1', roles: ['admin\udfff'] }],
    ['a lone surrogate in a claim the service does not read', { sub: 'u-1', org: { team: ['\ud83d'] } }],
    ['a lone surrogate in a claim name', { sub: 'u-1', ['k\ud800']: 1 }],
  ];
  for (const [what, claims] of LONE) {
    it(`${what}: 401`, async () => {
      const res = await t.json('GET', '/api/recordings', undefined, bearer(await token(claims)));
      expect(res.status).toBe(401);
    });
  }

  it('a lone surrogate escaped in the header: 401', async () => {
    const tk = rawToken('{"alg":"HS256","typ":"JWT","kid":"\\ud800"}', JSON.stringify({ sub: 'u-1', exp: exp() }));
    expect((await t.json('GET', '/api/recordings', undefined, bearer(tk))).status).toBe(401);
  });

  it('claims that are not UTF-8 (a stray 0xFF, an encoded surrogate ED A0 80, a cut sequence): 401', async () => {
    const header = '{"alg":"HS256","typ":"JWT"}';
    for (const bad of [[0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const payload = Buffer.concat([Buffer.from('{"sub":"x'), Buffer.from(bad), Buffer.from(`","exp":${exp()}}`)]);
      const res = await t.json('GET', '/api/recordings', undefined, bearer(rawToken(header, payload)));
      expect(res.status, Buffer.from(bad).toString('hex')).toBe(401);
    }
    // The same bytes as U+FFFD itself, well-formed, are an ordinary subject.
    const ok = rawToken(header, JSON.stringify({ sub: 'x\ufffd', exp: exp() }));
    expect((await t.json('GET', '/api/recordings', undefined, bearer(ok))).status).toBe(200);
  });

  it('well-formed non-ASCII subjects work, surrogate pairs raw or escaped', async () => {
    const header = '{"alg":"HS256","typ":"JWT"}';
    for (const tk of [
      await token({ sub: 'ünïcødé-😀', name: '名前' }),
      rawToken(header, `{"sub":"pair-\\ud83d\\ude00","exp":${exp()}}`),
    ]) {
      expect((await t.json('GET', '/api/recordings', undefined, bearer(tk))).status).toBe(200);
    }
  });
});
