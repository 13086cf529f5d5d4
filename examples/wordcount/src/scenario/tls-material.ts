// A collaborator's TLS material for the mTLS path, made with openssl as the seed's certs/ folder was.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsMaterial {
  readonly caFile: string;
  readonly serverKeyFile: string;
  readonly serverCertFile: string;
  readonly clientKeyFile: string;
  readonly clientCertFile: string;
}

/** A root CA, a server certificate for `serverName` and a client certificate, all signed by that root. */
export function createTlsMaterial(
  dir: string,
  name: string,
  serverName: string,
  print: (line: string) => void,
): TlsMaterial {
  const path = (file: string) => join(dir, `${file}-${name}`);
  const openssl = (args: string[]) => {
    print(`$ openssl ${args.join(' ')}`);
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('root-ca.key'),
    '-out',
    path('root-ca.crt'),
    '-subj',
    `/CN=${name} root`,
    '-days',
    '30',
  ]);
  for (const [who, cn, ext] of [
    ['server', serverName, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth`],
    ['client', `${name} client`, 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(path(`${who}.ext`), `${ext}\n`);
    openssl(['req', ...ec, '-keyout', path(`${who}.key`), '-out', path(`${who}.csr`), '-subj', `/CN=${cn}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      path(`${who}.csr`),
      '-CA',
      path('root-ca.crt'),
      '-CAkey',
      path('root-ca.key'),
      '-CAcreateserial',
      '-out',
      path(`${who}.crt`),
      '-days',
      '30',
      '-extfile',
      path(`${who}.ext`),
    ]);
  }
  return {
    caFile: path('root-ca.crt'),
    serverKeyFile: path('server.key'),
    serverCertFile: path('server.crt'),
    clientKeyFile: path('client.key'),
    clientCertFile: path('client.crt'),
  };
}
