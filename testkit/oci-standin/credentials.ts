// Key pairs and certificates made at test time, so no secret ever lives in the repository.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ApiKey {
  tenancy: string;
  user: string;
  /** md5 of the DER public key, lower-case hex with colons, as `oci setup keys` prints it. */
  fingerprint: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A user's API signing key, as an OCI config file profile refers to it. */
export function makeApiKey(tenancy = 'ocid1.tenancy.oc1..standintenancy', user = 'ocid1.user.oc1..standinuser'): ApiKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    tenancy,
    user,
    fingerprint: colonHex(createHash('md5').update(der).digest('hex')),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface InstanceIdentity {
  tenancy: string;
  /** Leaf certificate (subject OU=opc-tenant:<tenancy>) and its key, as IMDS serves them. */
  leafCertPem: string;
  leafKeyPem: string;
  intermediateCertPem: string;
  /** sha1 of the leaf certificate, lower-case hex with colons: the keyId's last part for /v1/x509. */
  leafFingerprint: string;
}

/** An intermediate CA and an instance leaf certificate signed by it, made with the openssl CLI. */
export function makeInstanceIdentity(tenancy = 'ocid1.tenancy.oc1..standintenancy'): InstanceIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'oci-standin-certs-'));
  try {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
      '-subj', '/CN=PKISVC Identity Intermediate standin');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr',
      '-subj', `/CN=ocid1.instance.oc1..standin/OU=opc-certtype:instance/OU=opc-tenant:${tenancy}`);
    writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=CA:FALSE\n');
    ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem',
      '-days', '2', '-extfile', 'ext.cnf');
    const leafCertPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
    return {
      tenancy,
      leafCertPem,
      leafKeyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
      intermediateCertPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      leafFingerprint: new X509Certificate(leafCertPem).fingerprint.toLowerCase(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PEM of a bare base64 certificate or key body, as the SDK sends them to /v1/x509 (headers stripped). */
export function certFromBody(body: string): X509Certificate {
  const b64 = body.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new X509Certificate(`-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
}

export function publicKeyFromBody(body: string): string {
  const b64 = body.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const pem = `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`;
  return createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
}

function colonHex(hex: string): string {
  return hex.match(/../g)!.join(':');
}
