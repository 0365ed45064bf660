// Self-managed serving certificates: keep a CA and a serving certificate in a
// Secret (kubernetes.io/tls with ca.crt, as cert-manager writes it, plus the
// CA's key), renew them before they expire, put the CA bundle into the
// ValidatingWebhookConfiguration, and hand the current pair to the server.
//
// Rotation never fails an admission: a serving certificate is renewed under
// the same CA (the API server's trust does not change); a CA is renewed by
// first adding the new CA to the bundle next to the old one and signing
// serving certificates with it only once the bundle has had time to reach the
// API server. Every replica runs a keeper (each must serve, the leader may be
// gone); writes use resourceVersion, so replicas converge on one Secret, and
// a deleted Secret is written back from the last material this replica held.
import type { Clock } from '../runtime/clock.js';
import { errorText } from '../runtime/text.js';
import {
  coversNames,
  CLOCK_SKEW_MS,
  issueCertificateAuthority,
  issuedBy,
  issueServingCertificate,
  keyMatches,
  readCertificate,
  renewalDue,
  splitPem,
  type KeyPairPem,
  type ServingNames,
} from './certificates.js';

/** What the Secret holds (decoded). `caBundle` is the current CA first, then older CAs still trusted. */
export interface TlsMaterial {
  caBundle: string;
  caKey: string;
  cert: string;
  key: string;
}

export interface StoredTls {
  material: TlsMaterial | undefined;
  /** Present when the Secret exists; the replace is conditional on it. */
  resourceVersion: string | undefined;
}

/** The Secret, by its small interface (kubernetes-io.ts has the API version). */
export interface TlsSecretStore {
  read(): Promise<StoredTls | undefined>;
  /** Creates the Secret; a 409 means another replica was first. */
  create(material: TlsMaterial): Promise<void>;
  /** Replaces the Secret if it still has `resourceVersion`; a 409 means it changed meanwhile. */
  replace(material: TlsMaterial, resourceVersion: string): Promise<void>;
}

/** The ValidatingWebhookConfiguration, by what the keeper needs of it. */
export interface CaBundleTarget {
  /** Makes every webhook of the configuration trust `bundle` (PEM). Returns whether it changed anything. */
  inject(bundle: string): Promise<boolean>;
}

export interface CertificatePolicy {
  names: ServingNames;
  caValidityMs: number;
  servingValidityMs: number;
  /** How long a new CA sits in the bundle before serving certificates are signed by it. */
  trustDelayMs: number;
  caCommonName?: string;
}

export const DEFAULT_CERTIFICATE_POLICY: Omit<CertificatePolicy, 'names'> = {
  caValidityMs: 365 * 86_400_000,
  servingValidityMs: 30 * 86_400_000,
  trustDelayMs: 30_000,
};

export type CertificateChange =
  'created' | 'ca-added' | 'serving-renewed' | 'expired-ca-removed' | 'repaired';

export interface CertificatePlan {
  material: TlsMaterial;
  changes: CertificateChange[];
}

/**
 * The material that should be stored, given what is stored now: the pure
 * core of the keeper (certificate generation aside, it reads only `now`).
 */
export async function planCertificates(
  current: TlsMaterial | undefined,
  policy: CertificatePolicy,
  now: Date,
): Promise<CertificatePlan> {
  const changes: CertificateChange[] = [];
  const caCommonName = policy.caCommonName ?? 'shipshape-webhook-ca';
  const newCa = () =>
    issueCertificateAuthority({ commonName: caCommonName, now, validityMs: policy.caValidityMs });

  let cas = splitPem(current?.caBundle ?? '')
    .map((pem) => ({ pem, cert: readCertificate(pem) }))
    .filter((c): c is { pem: string; cert: NonNullable<typeof c.cert> } => c.cert !== undefined);
  let caKey = current?.caKey ?? '';
  const head = cas[0];
  if (!head || !keyMatches(head.cert, caKey)) {
    // No usable CA (first start, or a Secret edited by hand): start over, keeping old CAs trusted.
    const ca = await newCa();
    cas = [{ pem: ca.cert, cert: readCertificate(ca.cert)! }, ...cas];
    caKey = ca.key;
    changes.push(current ? 'repaired' : 'created');
  } else if (renewalDue(head.cert, now)) {
    const ca = await newCa();
    cas = [{ pem: ca.cert, cert: readCertificate(ca.cert)! }, ...cas];
    caKey = ca.key;
    changes.push('ca-added');
  }
  const before = cas.length;
  cas = cas.filter((c, i) => i === 0 || Date.parse(c.cert.validTo) > now.getTime());
  if (cas.length < before) changes.push('expired-ca-removed');

  const active = cas[0]!;
  const activeSince = Date.parse(active.cert.validFrom) + CLOCK_SKEW_MS;
  const activeTrusted = now.getTime() - activeSince >= policy.trustDelayMs || changes.includes('created');
  const serving = current?.cert ? readCertificate(current.cert) : undefined;
  const servingIssuer = serving && cas.find((c) => issuedBy(serving, c.cert));
  const servingUsable =
    serving !== undefined &&
    servingIssuer !== undefined &&
    keyMatches(serving, current?.key ?? '') &&
    coversNames(serving, policy.names) &&
    Date.parse(serving.validTo) > now.getTime();
  const wantsNewServing =
    !servingUsable || renewalDue(serving, now) || (servingIssuer !== active && activeTrusted);

  let pair: KeyPairPem = { cert: current?.cert ?? '', key: current?.key ?? '' };
  // Renew under the active CA once it is trusted; an unusable certificate is replaced at once regardless.
  if (wantsNewServing && (activeTrusted || !servingUsable)) {
    pair = await issueServingCertificate({ cert: active.pem, key: caKey }, policy.names, {
      now,
      validityMs: policy.servingValidityMs,
    });
    changes.push('serving-renewed');
  }
  return {
    material: { caBundle: cas.map((c) => c.pem).join('\n') + '\n', caKey, cert: pair.cert, key: pair.key },
    changes,
  };
}

export interface CertificateKeeperOptions {
  secrets: TlsSecretStore;
  /** Absent with a certificate whose CA is injected by someone else (cert-manager's cainjector). */
  caBundleTarget?: CaBundleTarget;
  policy: CertificatePolicy;
  clock: Pick<Clock, 'now'>;
  /** Called with each new serving pair (and the first). */
  onCertificate: (pair: KeyPairPem) => void;
  onChange?: (changes: CertificateChange[]) => void;
  onError: (error: unknown) => void;
  intervalMs: number;
}

const isConflict = (error: unknown) => (error as { code?: unknown }).code === 409;

export class CertificateKeeper {
  private last: TlsMaterial | undefined;
  private servedCert: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: CertificateKeeperOptions) {}

  /** Ensures once (the first serving pair is delivered before this resolves), then keeps checking. */
  async start(): Promise<void> {
    await this.ensure();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.ensure()
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass: read, plan, write if needed, inject the bundle, serve. Concurrent calls share one pass. */
  ensure(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const { secrets, policy, clock } = this.options;
    for (let attempt = 0; ; attempt++) {
      const stored = await secrets.read();
      // A deleted Secret is written back from memory: same CA, so the API server's trust holds.
      const current = stored?.material ?? this.last;
      const plan = await planCertificates(current, policy, new Date(clock.now()));
      const changed = stored === undefined || plan.changes.length > 0;
      try {
        if (stored === undefined) await secrets.create(plan.material);
        else if (plan.changes.length > 0) await secrets.replace(plan.material, stored.resourceVersion ?? '');
      } catch (error) {
        if (isConflict(error) && attempt < 3) continue; // another replica wrote first: take theirs
        throw new Error(`webhook certificate Secret not written: ${errorText(error)}`, { cause: error });
      }
      if (changed && plan.changes.length > 0) this.options.onChange?.(plan.changes);
      this.last = plan.material;
      // The bundle is trusted before the certificate it vouches for is served.
      await this.options.caBundleTarget?.inject(plan.material.caBundle);
      if (plan.material.cert !== this.servedCert) {
        this.servedCert = plan.material.cert;
        this.options.onCertificate({ cert: plan.material.cert, key: plan.material.key });
      }
      return;
    }
  }
}
