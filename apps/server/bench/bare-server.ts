/** The baseline: a bare node:http server that pipes each PUT body to a file. */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2]!;
let n = 0;
const server = http.createServer((req, res) => {
  const file = path.join(dir, `bare-${n++}`);
  pipeline(req, createWriteStream(file)).then(
    () => res.writeHead(200, { etag: '"x"' }).end(),
    () => res.writeHead(500).end(),
  );
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port }));
});
