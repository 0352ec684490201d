/** The command line of `npm run bench`. */
export interface Options {
  quick: boolean;
  json: string | null;
  runs: number;
  only: string[] | null;
  /** Stop measuring after this many minutes; what is left is reported as not measured. */
  budgetMinutes: number;
  generateOnly: boolean;
}

export function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, json: null, runs: -1, only: null, budgetMinutes: 0, generateOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = argv[++i] ?? null;
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',');
    else if (a === '--budget-minutes') o.budgetMinutes = Number(argv[++i]);
    else if (a === '--generate-only') o.generateOnly = true;
    else throw new Error(`bench: unknown argument ${a} (use --quick, --json FILE, --runs N, --only IMAGE,..., --budget-minutes M, --generate-only)`);
  }
  if (o.json === '') throw new Error('bench: --json needs a FILE');
  if (o.runs === -1) o.runs = o.quick ? 3 : 5;
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('bench: --runs needs a positive integer');
  if (!(o.budgetMinutes >= 0)) throw new Error('bench: --budget-minutes needs a number of minutes');
  // quick: whatever the machine, CI's run ends within three minutes (what is left is marked)
  if (!o.budgetMinutes) o.budgetMinutes = o.quick ? 2.5 : 120;
  return o;
}

