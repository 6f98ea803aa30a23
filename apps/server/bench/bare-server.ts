/**
 * The baseline: a bare node:http server that pipes each PUT body to a file.
 * BARE_WRITE_BUFFER (bytes) sets the file stream's buffer: unset, node's 16 KiB
 * default (the pipe anyone would write); 1048576, the buffer the service's part
 * path uses, so that the service is also compared with a pipe tuned as it is.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2]!;
const highWaterMark = process.env.BARE_WRITE_BUFFER ? Number(process.env.BARE_WRITE_BUFFER) : undefined;
let n = 0;
const server = http.createServer((req, res) => {
  const file = path.join(dir, `bare-${n++}`);
  pipeline(req, createWriteStream(file, { highWaterMark })).then(
    () => res.writeHead(200, { etag: '"x"' }).end(),
    () => res.writeHead(500).end(),
  );
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port }));
});
