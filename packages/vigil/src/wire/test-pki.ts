/**
 * Test helper: throwaway TLS certificates made with the openssl CLI, for the HTTP and gRPC clients' TLS
 * and mTLS tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether the openssl CLI is there (for `describeWith` in fixtures/needs.ts). */
export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** The tool name `describeWith` prints when openssl is missing. */
export const OPENSSL = 'openssl (Debian package openssl)';

/** A throwaway CA, a server certificate (127.0.0.1, localhost, vigil.test) and a client certificate. */
export interface Pki {
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
}

/** Makes a {@link Pki} in `dir` with the openssl CLI (EC P-256 keys, valid for 2 days). */
export function makePki(dir: string): Pki {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = vigil test CA',
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost, DNS:vigil.test\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n');
  run(
    'req',
    '-x509',
    '-config',
    'ca.cnf',
    '-extensions',
    'v3_ca',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
  );
  for (const [name, serial] of [
    ['server', '2'],
    ['client', '3'],
  ] as const) {
    run(
      'req',
      '-new',
      '-config',
      'ca.cnf',
      '-subj',
      `/CN=vigil ${name}`,
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  }
  const read = (file: string) => readFileSync(join(dir, file));
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}
