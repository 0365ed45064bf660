// The OSV schema (ossf/osv-schema) as far as matching needs it, and the one
// validator that turns untrusted JSON into an Advisory or a reason to skip it.
// Hand-written rather than a JSON-schema library: the matcher keeps only a few
// fields, and each rejection needs a reason a person can act on.

export type OsvEvent =
  { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface SortedEvent {
  kind: 'introduced' | 'fixed' | 'last_affected' | 'limit';
  version: string;
}

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT';
  events: OsvEvent[];
  /** Filled by the first evaluation (evaluate.ts): the events in version order, and the limits. */
  compiled?: { events: SortedEvent[]; limits: string[] };
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package: { ecosystem: string; name: string; purl?: string };
  ranges: OsvRange[];
  versions: string[];
  /** Ubuntu's per-package `severity` type, GitHub's `database_specific.severity`, ... */
  severity: OsvSeverity[];
  /** Filled by the first evaluation when versions[] is long: the same list as a set. */
  versionSet?: Set<string>;
}

export interface Advisory {
  id: string;
  aliases: string[];
  upstream: string[];
  summary?: string;
  withdrawn?: string;
  severity: OsvSeverity[];
  /** GitHub-reviewed advisories carry a qualitative severity here (LOW, MODERATE, HIGH, CRITICAL). */
  databaseSeverity?: string;
  affected: OsvAffected[];
}

export interface AdvisoryRejection {
  kind: 'AdvisoryRejection';
  reason: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${field} is not a list of strings`);
  }
  return value as string[];
}

function severityList(value: unknown, field: string): OsvSeverity[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${field} is not a list`);
  return value.map((s, i) => {
    if (!isObject(s) || typeof s.type !== 'string' || typeof s.score !== 'string') {
      throw new Error(`${field}[${i}] needs string type and score`);
    }
    return { type: s.type, score: s.score };
  });
}

const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

function parseEvent(value: unknown, where: string): OsvEvent {
  if (!isObject(value)) throw new Error(`${where} is not an object`);
  const keys = EVENT_KEYS.filter((k) => value[k] !== undefined);
  if (keys.length !== 1) throw new Error(`${where} must have exactly one of ${EVENT_KEYS.join(', ')}`);
  const key = keys[0]!;
  const version = value[key];
  if (typeof version !== 'string' || version === '')
    throw new Error(`${where}.${key} is not a version string`);
  return { [key]: version } as OsvEvent;
}

function parseRange(value: unknown, where: string): OsvRange {
  if (!isObject(value)) throw new Error(`${where} is not an object`);
  const type = value.type;
  if (type !== 'ECOSYSTEM' && type !== 'SEMVER' && type !== 'GIT')
    throw new Error(`${where}.type ${String(type)} is unknown`);
  if (!Array.isArray(value.events) || value.events.length === 0) throw new Error(`${where}.events is empty`);
  return { type, events: value.events.map((e, i) => parseEvent(e, `${where}.events[${i}]`)) };
}

function parseAffected(value: unknown, where: string): OsvAffected {
  if (!isObject(value)) throw new Error(`${where} is not an object`);
  const pkg = value.package;
  if (!isObject(pkg) || typeof pkg.ecosystem !== 'string' || typeof pkg.name !== 'string') {
    throw new Error(`${where}.package needs ecosystem and name`);
  }
  const ranges = value.ranges === undefined ? [] : value.ranges;
  if (!Array.isArray(ranges)) throw new Error(`${where}.ranges is not a list`);
  const severity = severityList(value.severity, `${where}.severity`);
  return {
    package: {
      ecosystem: pkg.ecosystem,
      name: pkg.name,
      ...(typeof pkg.purl === 'string' ? { purl: pkg.purl } : {}),
    },
    ranges: ranges.map((r, i) => parseRange(r, `${where}.ranges[${i}]`)),
    versions: stringList(value.versions, `${where}.versions`),
    severity,
  };
}

/** Validates one parsed OSV document; anything malformed is a rejection with the field at fault. */
export function parseAdvisory(value: unknown): Advisory | AdvisoryRejection {
  try {
    if (!isObject(value)) throw new Error('advisory is not a JSON object');
    if (typeof value.id !== 'string' || value.id === '') throw new Error('id is missing');
    const affected = value.affected === undefined ? [] : value.affected;
    if (!Array.isArray(affected)) throw new Error('affected is not a list');
    const databaseSpecific = value.database_specific;
    const advisory: Advisory = {
      id: value.id,
      aliases: stringList(value.aliases, 'aliases'),
      upstream: stringList(value.upstream, 'upstream'),
      severity: severityList(value.severity, 'severity'),
      affected: affected.map((a, i) => parseAffected(a, `affected[${i}]`)),
    };
    if (typeof value.summary === 'string') advisory.summary = value.summary;
    else if (typeof value.details === 'string') {
      const end = value.details.indexOf('\n');
      const firstLine = (end === -1 ? value.details : value.details.slice(0, end)).slice(0, 200);
      // Copied, not sliced: a slice of the details would keep all of them alive in the database.
      advisory.summary = Buffer.from(firstLine).toString();
    }
    if (typeof value.withdrawn === 'string') advisory.withdrawn = value.withdrawn;
    if (isObject(databaseSpecific) && typeof databaseSpecific.severity === 'string') {
      advisory.databaseSeverity = databaseSpecific.severity;
    }
    return advisory;
  } catch (err) {
    const id = isObject(value) && typeof value.id === 'string' ? `${value.id}: ` : '';
    return { kind: 'AdvisoryRejection', reason: `${id}${(err as Error).message}` };
  }
}

export function isAdvisoryRejection(value: Advisory | AdvisoryRejection): value is AdvisoryRejection {
  return (value as AdvisoryRejection).kind === 'AdvisoryRejection';
}
