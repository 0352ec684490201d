import { RE2JS } from 're2js';

/**
 * Every signature regex — shipped or user-supplied — runs on RE2 (the re2js port): matching
 * time is linear in the input whatever the pattern. V8's backtracking engine is not: the
 * WebLogic rule `<distribution\s[^>]*name="WebLogic Server"[^>]*version=…` took 2.5 s on 32 KB
 * of a hostile registry.xml and about a day on the 1 MiB the rule reads (issue 19). RE2 has no
 * lookaround and no backreferences; a regex that needs them is rejected when the signature is
 * loaded, naming the file and the field. Syntax: https://github.com/google/re2/wiki/Syntax
 * (named groups as `(?<name>…)` or `(?P<name>…)`). Differences from JavaScript that matter for
 * file content: `.` also matches `\r`; `\s` is `[\t\n\f\r ]`.
 */
export interface SignatureRegex {
  readonly source: string;
  readonly flags: string;
  /** Whether the regex matches anywhere in `text`. */
  test(text: string): boolean;
  /** The leftmost match, shaped like RegExp#exec's: `[0]`, `index`, `groups`. */
  exec(text: string): RegExpExecArray | null;
  /** Every match replaced (`$1`, `$<name>` as in String#replace). */
  replaceAll(text: string, replacement: string): string;
}

/** A regex RE2 cannot run (lookaround, a backreference, a JavaScript-only escape) or bad flags. */
export class RegexEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexEngineError';
  }
}

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // Content is decoded as latin1 (one code unit per byte) and RE2 matches code points: `u` changes nothing.
  u: 0,
  // Internal (version.replace): replace every match; matching itself is the same.
  g: 0,
};

let deferCompile = false;

/**
 * Runs `fn` with regex compilation deferred to each regex's first use. Only for signatures the
 * build has already validated (dist/signatures.bundle.json): compiling all ~160 shipped regexes
 * was most of a cold scan's signature loading, and a scan uses few of them.
 */
export function withValidatedRegexes<T>(fn: () => T): T {
  const was = deferCompile;
  deferCompile = true;
  try {
    return fn();
  } finally {
    deferCompile = was;
  }
}

function re2(source: string, bits: number): RE2JS {
  try {
    return RE2JS.compile(source, bits);
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new RegexEngineError(`RE2 cannot run it: ${why}`);
  }
}

export function compileSignatureRegex(source: string, flags = ''): SignatureRegex {
  let bits = 0;
  for (const f of flags) {
    if (!(f in FLAG_BITS)) throw new RegexEngineError(`unknown regex flag "${f}" (use i, m, s, u)`);
    bits |= FLAG_BITS[f];
  }
  let compiled: RE2JS | undefined = deferCompile ? undefined : re2(source, bits);
  const re = (): RE2JS => (compiled ??= re2(source, bits));
  return {
    source,
    flags,
    test: (text) => re().exec(text) !== null,
    exec: (text) => re().exec(text) as RegExpExecArray | null,
    replaceAll: (text, replacement) => re().matcher(text).replaceAll(replacement),
  };
}
