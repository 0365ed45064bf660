// One severity per advisory from whatever it carries: CVSS v4, v3.x or v2
// vectors (scored with ae-cvss-calculator; scores cached because many
// advisories share a vector), Ubuntu's priority, or GitHub's
// `database_specific.severity`, in that order of preference.
import cvss from 'ae-cvss-calculator';
import { LRUCache } from 'lru-cache';

import type { Advisory, OsvSeverity } from './osv.js';

export type SeverityLevel = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'NONE' | 'UNKNOWN';

export interface Severity {
  level: SeverityLevel;
  /** CVSS base score when the level came from a vector. */
  score?: number;
  /** Which field decided: CVSS_V4, CVSS_V3, CVSS_V2, Ubuntu, database_specific. */
  source?: string;
}

const RANK: Record<SeverityLevel, number> = { UNKNOWN: 0, NONE: 1, LOW: 2, MEDIUM: 3, HIGH: 4, CRITICAL: 5 };

export function severityRank(level: SeverityLevel): number {
  return RANK[level];
}

const scores = new LRUCache<string, number | 'invalid'>({ max: 50_000 });

function scoreVector(type: string, vector: string): number | undefined {
  const key = `${type} ${vector}`;
  let score = scores.get(key);
  if (score === undefined) {
    try {
      const calculator =
        type === 'CVSS_V4'
          ? new cvss.Cvss4P0(vector)
          : type === 'CVSS_V2'
            ? new cvss.Cvss2(vector)
            : vector.startsWith('CVSS:3.0/')
              ? new cvss.Cvss3P0(vector)
              : new cvss.Cvss3P1(vector);
      const base = calculator.calculateScores().base;
      score = typeof base === 'number' && Number.isFinite(base) ? base : 'invalid';
    } catch {
      score = 'invalid';
    }
    scores.set(key, score);
  }
  return score === 'invalid' ? undefined : score;
}

function levelOfScore(type: string, score: number): SeverityLevel {
  if (type === 'CVSS_V2') return score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : 'LOW';
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'NONE';
}

const WORDS: Record<string, SeverityLevel> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  important: 'HIGH',
  moderate: 'MEDIUM',
  medium: 'MEDIUM',
  low: 'LOW',
  negligible: 'LOW',
};

function levelOfWord(word: string): SeverityLevel {
  return WORDS[word.toLowerCase()] ?? 'UNKNOWN';
}

const VECTOR_PREFERENCE = ['CVSS_V4', 'CVSS_V3', 'CVSS_V2'];

/** What a severity is computed from: an advisory, or the database's compact record of one. */
export type SeverityInputs = Pick<Advisory, 'severity' | 'databaseSeverity'>;

const NO_ENTRY_SEVERITY: OsvSeverity[] = [];

/**
 * The severity of an advisory (and of the affected entry's own severities, which OSV allows).
 * Pure; the database keeps one answer per distinct input (VulnerabilityDatabase.facts).
 */
export function severityOf(
  advisory: SeverityInputs,
  entrySeverity: OsvSeverity[] = NO_ENTRY_SEVERITY,
): Severity {
  const all = [...entrySeverity, ...advisory.severity];
  for (const type of VECTOR_PREFERENCE) {
    for (const s of all) {
      if (s.type !== type) continue;
      const score = scoreVector(type, s.score);
      if (score !== undefined) return { level: levelOfScore(type, score), score, source: type };
    }
  }
  const ubuntu = all.find((s) => s.type === 'Ubuntu');
  if (ubuntu !== undefined && levelOfWord(ubuntu.score) !== 'UNKNOWN') {
    return { level: levelOfWord(ubuntu.score), source: 'Ubuntu' };
  }
  if (advisory.databaseSeverity !== undefined && levelOfWord(advisory.databaseSeverity) !== 'UNKNOWN') {
    return { level: levelOfWord(advisory.databaseSeverity), source: 'database_specific' };
  }
  return { level: 'UNKNOWN' };
}
