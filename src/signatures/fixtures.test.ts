import { describe, expect, it } from 'vitest';
import { fixtureSubject } from './fixture-subject.js';
import { loadFixtures } from './fixtures.js';
import { loadSignatureSet } from './load.js';

// Every fixture goes through the real plan (candidates, byte caps), the package parsers and the
// matcher: positives must be found with the expected fields, negatives must not be.
const set = await loadSignatureSet();
const fixtures = await loadFixtures();

describe('signature fixtures', () => {
  it('every signature has at least one positive and one negative fixture', () => {
    for (const sig of set.signatures) {
      const mine = fixtures.filter((f) => f.signature === sig.id);
      expect(mine.filter((f) => f.expect.some((e) => e.id === sig.id)).length, `${sig.id} positives`).toBeGreaterThan(0);
      expect(mine.filter((f) => f.absent?.includes(sig.id)).length, `${sig.id} negatives`).toBeGreaterThan(0);
    }
  });

  it('fixture folders name existing signatures', () => {
    const ids = new Set(set.signatures.map((s) => s.id));
    for (const f of fixtures) {
      expect(ids.has(f.signature), `fixtures/${f.signature}`).toBe(true);
      for (const id of [...f.expect.map((e) => e.id), ...(f.absent ?? [])]) expect(ids.has(id), `${f.signature}/${f.name}: ${id}`).toBe(true);
    }
  });

  for (const fixture of fixtures) {
    it(`${fixture.signature}/${fixture.name}`, async () => {
      const { matchSubject } = await import('./match.js');
      const findings = matchSubject(set, await fixtureSubject(fixture, set.plan));
      for (const want of fixture.expect) {
        const got = findings.find((f) => f.id === want.id);
        expect(got, `${want.id} expected in ${JSON.stringify(findings.map((f) => f.id))}`).toBeDefined();
        if (want.edition !== undefined) expect(got!.edition).toBe(want.edition);
        if (want.version !== undefined) expect(got!.version).toBe(want.version);
        if (want.licensable !== undefined) expect(got!.licensable).toBe(want.licensable);
        expect(got!.evidence.length).toBeGreaterThan(0);
        for (const ev of got!.evidence) expect(ev.rule.startsWith(`${want.id}/`)).toBe(true);
      }
      for (const id of fixture.absent ?? []) {
        expect(findings.map((f) => f.id), `${id} must be absent`).not.toContain(id);
      }
    });
  }
});
