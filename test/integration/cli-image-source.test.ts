// `kdev start` refuses guest image sources it cannot authenticate, through the real built CLI and
// a real HTTPS server (its certificate trusted through NODE_EXTRA_CA_CERTS, as a user's CA would be).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runKdev } from '../helpers/cli.js';
import { snapshotTree, useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
let tlsDir = '';
let plain: http.Server;
let secure: https.Server;
let plainBase = '';
let secureBase = '';
const hits: string[] = [];

beforeAll(async () => {
  tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-tls-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem'), '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  plain = http.createServer((req, res) => {
    hits.push(`http ${req.url}`);
    res.end('0000000000000000000000000000000000000000000000000000000000000000  bzImage\n');
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  secure = https.createServer(
    {
      key: fs.readFileSync(path.join(tlsDir, 'key.pem')),
      cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')),
    },
    (req, res) => {
      hits.push(`https ${req.url}`);
      // Every file of this "mirror" moves to the plain-http twin: a downgrade.
      res.writeHead(302, { location: `${plainBase}${req.url}` }).end();
    },
  );
  await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
  secureBase = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => plain.close(r));
  await new Promise((r) => secure.close(r));
  fs.rmSync(tlsDir, { recursive: true, force: true });
});

beforeEach(() => {
  hits.length = 0;
});

const start = (...args: string[]) =>
  runKdev(['start', '--no-kubernetes', '-p', 'img', ...args], {
    KDEV_HOME: home.dir(),
    NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'cert.pem'),
  });

describe('kdev start: guest image sources (real process, real HTTPS)', () => {
  test('an https image redirected to http is refused', async () => {
    const r = await start('--iso-url', `${secureBase}/img/`);
    expect(r.stderr).toMatch(
      /refused a redirect from https:\/\/ to http:\/\/127\.0\.0\.1:\d+\/img\/SHA256SUMS/,
    );
    expect(r.exitCode).not.toBe(0);
    expect(hits).toEqual(['https /img/SHA256SUMS']);
  });

  test.each([
    [['--iso-url', ''], /^✖ --iso-url is empty$/m],
    [['--iso-url', 'http://127.0.0.1:9/img/'], /^✖ refusing an unauthenticated guest image over http/m],
    [
      ['--iso-url', 'https://127.0.0.1:9/img/', '--iso-sha256', 'abc'],
      /^✖ --iso-sha256 must be 64 hexadecimal/m,
    ],
  ])('%j is one BAD_INPUT line and writes nothing', async (args, line) => {
    const r = await start(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('✖'))).toHaveLength(1);
    expect(await snapshotTree(home.dir())).toEqual({});
    expect(fs.readdirSync(home.dir())).toEqual([]);
    expect(hits).toEqual([]);
  });

  test('credentials in --iso-url never appear in the output', async () => {
    const r = await start('--iso-url', `${plainBase.replace('http://', 'http://me:hunter2@')}/x/`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('http://***@127.0.0.1');
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  });
});
