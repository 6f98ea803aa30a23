/**
 * The loopback S3 server itself (test/s3-server.ts), where the browser tests close tabs mid-upload: a tail
 * POST whose client goes away in the middle of its file must not throw in the test's process (it once ended
 * the SDK's suite with an uncaught "aborted"), and the server goes on answering.
 */
import { connect } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TailTargets } from '@sortie/contract';
import { postTail, testApp, type TestApp } from './helpers.js';
import { s3Env, sharedS3Server } from './s3-server.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp({ env: s3Env(await sharedS3Server(), `abort-${randomUUID()}/`) });
});
afterAll(async () => {
  await t?.close();
});

it('a tail POST cut before its closing line throws nothing in this process, and the next POST is stored', async () => {
  const r = await t.json('POST', '/api/recordings', { sessionId: 'abort', mimeType: 'video/webm' }, t.auth.user);
  const { id } = (await r.json()) as { id: string };
  const batch = (await (
    await t.json('POST', `/api/recordings/${id}/tails`, { partNumber: 1, firstSeq: 0 }, t.auth.user)
  ).json()) as TailTargets;
  const [first, second] = batch.urls;

  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    // The form's fields and its whole file, then the connection goes away before the form's closing line: the
    // server has checked the file and hands the rest of the body on when the client is gone.
    const url = new URL(first!.url);
    const boundary = `----sortie${randomUUID()}`;
    const fields = Object.entries(first!.fields)
      .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
      .join('');
    const head = `${fields}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="t"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const declared = Buffer.byteLength(head) + 20_000 + `\r\n--${boundary}--\r\n`.length;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
            `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${declared}\r\n\r\n`,
        );
        socket.write(head);
        socket.write(randomBytes(20_000));
        socket.write(`\r\n--${boundary}`, () => setTimeout(() => (socket.destroy(), resolve()), 300));
      });
      socket.on('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  const stored = await postTail(second!, randomBytes(1000));
  expect(stored.status).toBeLessThan(300);
});
