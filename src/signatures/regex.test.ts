import { describe, expect, it } from 'vitest';
import { compileSignatureRegex, RegexEngineError, withValidatedRegexes } from './regex.js';

describe('signature regexes on RE2', () => {
  it('reject what RE2 cannot run when compiled, naming the reason', () => {
    expect(() => compileSignatureRegex('(?=x)y')).toThrow(RegexEngineError);
    expect(() => compileSignatureRegex('a', 'y')).toThrow(/unknown regex flag "y"/);
  });

  it('compile on first use inside withValidatedRegexes (the build checked them), and match the same', () => {
    const eager = compileSignatureRegex('version="(?<v>[0-9.]+)"', 'i');
    // A regex RE2 rejects is not compiled until used: proof that nothing was compiled at load.
    const deferredBad = withValidatedRegexes(() => compileSignatureRegex('(?=x)y'));
    expect(() => deferredBad.test('y')).toThrow(RegexEngineError);
    const lazy = withValidatedRegexes(() => compileSignatureRegex('version="(?<v>[0-9.]+)"', 'i'));
    for (const text of ['VERSION="19.3.0"', 'none', 'a version="1" b version="2"']) {
      expect(lazy.test(text)).toBe(eager.test(text));
      expect(lazy.exec(text)?.groups).toEqual(eager.exec(text)?.groups);
    }
    // Bad flags are still refused at once: they are cheap to check.
    expect(() => withValidatedRegexes(() => compileSignatureRegex('a', 'y'))).toThrow(/unknown regex flag/);
    // The scope ends with the call.
    expect(() => compileSignatureRegex('(?=x)y')).toThrow(RegexEngineError);
  });
});
