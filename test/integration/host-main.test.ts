// The host's command line: `node out/test/host/main.js` prints where it listens (and the
// CA file for HTTPS), serves until SIGTERM/SIGINT, then stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRoot } from '../support/peers';
import { RawClient, controlShells } from '../host/testing';

const MAIN = join(findRoot(), 'out', 'test', 'host', 'main.js');

async function startMain(args: string[]) {
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--no-wine', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /WinRM test host listening on (\S+)\n/.exec(out);
      if (m && (!args.includes('--https') || /CA certificate/.test(out))) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`main exited ${code}: ${err}`)));
  });
  return { child, url, out: () => out, err: () => err };
}

test('main.js serves WinRM until SIGTERM and stops cleanly', async () => {
  const m = await startMain(['--user', 'alice', '--password', 's3cret']);
  assert.match(m.url, /^http:\/\/127\.0\.0\.1:\d+\/wsman$/);
  assert.match(m.err(), /PowerShell: /);
  const c = new RawClient(m.url, { user: 'alice', password: 's3cret' });
  const r = await c.run('hostname');
  c.close();
  assert.equal(r.stdout.toString(), 'WINRM-TEST\r\n');
  assert.equal((await controlShells(m.url)).open, 0);
  const exited = new Promise<number | null>((resolve) => m.child.on('exit', resolve));
  m.child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('main.js --https prints the CA file; SIGINT stops it and removes the temporary files', async () => {
  const m = await startMain(['--https']);
  assert.match(m.url, /^https:\/\//);
  const ca = /CA certificate \(trust it for HTTPS\): (\S+)/.exec(m.out())![1];
  const pem = readFileSync(ca, 'utf8');
  const c = new RawClient(m.url, { ca: pem });
  assert.equal((await c.post('x', {}, false)).status, 401);
  c.close();
  const exited = new Promise<number | null>((resolve) => m.child.on('exit', resolve));
  m.child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.equal(existsSync(ca), false);
});

test('main.js refuses a non-loopback address', async () => {
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--bind', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, /loopback only/);
});
