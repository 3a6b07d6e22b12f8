// A throwaway CA and a server certificate for the HTTPS listener, made with the openssl
// CLI at start. Clients trust the CA PEM; `names` picks the leaf's subjectAltNames so a
// test can get a certificate for another name (host name mismatch).
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  caPem: string;
  caPemPath: string;
  certPem: string;
  certPemPath: string;
  keyPem: string;
  keyPemPath: string;
  /** The leaf certificate in DER (for channel binding: tls-server-end-point hashes it). */
  certDer: Buffer;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('The WinRM test host needs the openssl CLI for HTTPS (Debian: apt-get install openssl).');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

// One CA and leaf per set of names per process: RSA key generation takes a second or
// so, and tests start many hosts. Each host still gets its own copy of the files.
const generated = new Map<string, Promise<{ caPem: string; certPem: string; keyPem: string }>>();

/**
 * Writes ca.pem and a leaf (server.pem/server.key) signed by it into `dir`, generating
 * them with openssl the first time these `names` are asked for in this process.
 * `names` are DNS names or IP addresses; the first one is also the subject CN.
 */
export async function createTestCertificates(dir: string, names: string[] = ['localhost', '127.0.0.1']): Promise<TestCertificates> {
  if (names.length === 0) throw new Error('createTestCertificates: at least one name');
  const key = names.join(',');
  let pems = generated.get(key);
  if (!pems) {
    pems = generate(dir, names);
    generated.set(key, pems);
    pems.catch(() => generated.delete(key));
  }
  const { caPem, certPem, keyPem } = await pems;
  await Promise.all([writeFile(join(dir, 'ca.pem'), caPem), writeFile(join(dir, 'server.pem'), certPem), writeFile(join(dir, 'server.key'), keyPem, { mode: 0o600 })]);
  const b64 = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return {
    caPem,
    caPemPath: join(dir, 'ca.pem'),
    certPem,
    certPemPath: join(dir, 'server.pem'),
    keyPem,
    keyPemPath: join(dir, 'server.key'),
    certDer: Buffer.from(b64, 'base64'),
  };
}

async function generate(dir: string, names: string[]): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  await writeFile(join(dir, 'ca.cnf'), [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier=hash',
  ].join('\n') + '\n');
  await writeFile(join(dir, 'server.cnf'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${san}`,
    'authorityKeyIdentifier=keyid',
  ].join('\n') + '\n');
  const days = ['-days', '2'];
  await Promise.all([
    openssl(['genrsa', '-out', 'ca.key', '2048'], dir),
    openssl(['genrsa', '-out', 'server.key', '2048'], dir),
  ]);
  await openssl(['req', '-new', '-key', 'ca.key', '-subj', '/CN=WinRM Test Host CA', '-out', 'ca.csr'], dir);
  await openssl(['x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', ...days, '-sha256', '-extfile', 'ca.cnf', '-out', 'ca.pem'], dir);
  await openssl(['req', '-new', '-key', 'server.key', '-subj', `/CN=${names[0]}`, '-out', 'server.csr'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${Date.now().toString(16)}`, ...days, '-sha256', '-extfile', 'server.cnf', '-out', 'server.pem'], dir);
  const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(join(dir, f), 'utf8')));
  return { caPem, certPem, keyPem };
}
