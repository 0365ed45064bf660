// The webhook's own small PKI: a CA and a serving certificate signed by it
// (ECDSA P-256, cheap to make and accepted by every API server), and the
// questions a keeper asks of them (when to renew, whether the names fit, who
// issued it). Generation goes through @peculiar/x509 over WebCrypto because
// Node has no certificate builder; reading uses node:crypto's X509Certificate.
import { X509Certificate as NodeCertificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its algorithms through tsyringe, which insists on the
// Reflect metadata API being present; imported first so it is there in time.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// The provider takes the DOM Crypto type, which Node's webcrypto implements.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** Certificates start a little in the past, so a peer whose clock lags still accepts them. */
export const CLOCK_SKEW_MS = 60_000;

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface ServingNames {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

async function keyPem(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<Key> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, ['sign']);
}

const serial = () => {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // a positive INTEGER
  return bytes.toString('hex');
};

async function generateKeys(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** A new self-signed CA valid from `now` (less the skew) for `validityMs`. */
export async function issueCertificateAuthority(options: {
  commonName: string;
  now: Date;
  validityMs: number;
}): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName}`,
    notBefore: new Date(options.now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(options.now.getTime() + options.validityMs),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** A serving certificate for `names`, signed by `ca`; it never outlives the CA. */
export async function issueServingCertificate(
  ca: KeyPairPem,
  names: ServingNames,
  options: { now: Date; validityMs: number },
): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKey(ca.key);
  const keys = await generateKeys();
  const notAfter = Math.min(options.now.getTime() + options.validityMs, caCert.notAfter.getTime());
  const commonName = names.dnsNames[0] ?? names.ipAddresses[0] ?? 'shipshape-webhook';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(options.now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...names.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** The PEM blocks of a bundle, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Parses a certificate, or undefined when it is not one (a Secret edited by hand, say). */
export function readCertificate(pem: string): NodeCertificate | undefined {
  try {
    return new NodeCertificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * Whether a certificate is due for renewal: less than `renewFraction` of its
 * lifetime left (a third by default, as cert-manager does), or expired. The
 * lifetime counts from issue, not from the backdated notBefore.
 */
export function renewalDue(
  cert: NodeCertificate,
  now: Date,
  renewFraction = 1 / 3,
  skewMs = CLOCK_SKEW_MS,
): boolean {
  const to = Date.parse(cert.validTo);
  const from = Math.min(Date.parse(cert.validFrom) + skewMs, to);
  return to - now.getTime() < (to - from) * renewFraction;
}

/** Whether the certificate names every DNS name and IP address the webhook is reached by. */
export function coversNames(cert: NodeCertificate, names: ServingNames): boolean {
  const present = new Set(
    (cert.subjectAltName ?? '')
      .split(', ')
      .map((entry) => entry.replace(/^IP Address:/, 'ip:').replace(/^DNS:/, 'dns:')),
  );
  return (
    names.dnsNames.every((n) => present.has(`dns:${n}`)) &&
    names.ipAddresses.every((ip) => present.has(`ip:${isIP(ip) === 6 ? ip.toUpperCase() : ip}`))
  );
}

/** Whether `cert` was signed by `ca` (the key, not just the name). */
export function issuedBy(cert: NodeCertificate, ca: NodeCertificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Whether a private key (PEM) belongs to a certificate: a Secret edited by hand may mix them. */
export function keyMatches(cert: NodeCertificate, keyPemText: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPemText));
  } catch {
    return false;
  }
}
