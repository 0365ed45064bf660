// The informer's SecurityReports keep one copy of the strings findings repeat; the
// report's content must come through unchanged, and what is not repeated (messages,
// subjects) or too long to keep passes as it is.
import assert from 'node:assert/strict';

import type { SecurityReport } from '../../../src/api/report-types.js';
import { withSharedStrings } from '../../../src/report/shared-strings.js';

function report(remediation: string): SecurityReport {
  return JSON.parse(
    JSON.stringify({
      apiVersion: 'shipshape.dev/v1alpha1',
      kind: 'SecurityReport',
      metadata: { name: 'deployment-web', namespace: 'shop' },
      spec: { subject: { kind: 'Deployment', name: 'web', uid: 'u1' } },
      status: {
        compliant: false,
        findings: Array.from({ length: 3 }, (_, i) => ({
          ruleId: 'vulnerabilities.high',
          title: 'High vulnerability in image',
          severity: 'High',
          category: 'vulnerabilities',
          policy: 'shop/baseline',
          container: 'app',
          subject: `CVE-2026-${i}`,
          message: `container "app": CVE-2026-${i} (High) in openssl`,
          remediation,
          firstSeen: '2026-12-02T12:00:00Z',
          lastSeen: '2026-12-02T12:05:00Z',
        })),
      },
    }),
  ) as SecurityReport;
}

describe('withSharedStrings', () => {
  it('keeps every field of every finding as it was', () => {
    const original = report('Rebuild the image on a base that has the fix.');
    const shared = withSharedStrings(original);
    assert.deepEqual(shared, report('Rebuild the image on a base that has the fix.'));
    assert.notEqual(shared.status, original.status, 'a new status object: the input is not changed');
  });

  it('passes a report without findings, and strings over the length bound, unchanged', () => {
    const empty = { ...report('x'), status: { compliant: true } } as SecurityReport;
    assert.equal(withSharedStrings(empty), empty);
    const long = 'r'.repeat(5000);
    assert.equal(withSharedStrings(report(long)).status?.findings?.[0]?.remediation, long);
  });
});
