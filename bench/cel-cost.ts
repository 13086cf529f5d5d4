// Benchmark: the most expensive CEL policies the cost estimate admits, run on the worst claims, and CPU time per cost unit.
// Run: npm exec -- node bench/cel-cost.ts
import { loadavg } from 'node:os';
import { celEnv, parse, plan } from '@bufbuild/cel';
import { CEL_COST_LIMITS, CostMeter, compileCel, jsonShape, toCelInput, WIF_LIMITS } from '@sealroom/cel';

const LIMIT = CEL_COST_LIMITS.estimated;
const MAX_CHARS = WIF_LIMITS.assertionMaxChars;
const digits = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

/** The denial of service: six nested comprehensions over ten items. */
const NESTED = `${digits(10)}.all(a,${digits(10)}.all(b,${digits(10)}.all(c,${digits(10)}.all(d,${digits(10)}.all(e,${digits(10)}.all(f,a+b+c+d+e+f>=0))))))`;

/** Claims that fill the size bound with as many items as possible. */
const CLAIMS = {
  numbers: { list: Array.from({ length: Math.floor((MAX_CHARS - 16) / 2) }, () => 0) },
  strings: { list: Array.from({ length: Math.floor((MAX_CHARS - 16) / 4) }, () => 'a') },
  long: { s: 'a'.repeat(MAX_CHARS - 16) },
  signatures: {
    list: Array.from({ length: Math.floor((MAX_CHARS - 16) / 39) }, () => ({ signature_algorithm: '', key_id: '' })),
  },
};

interface Family {
  readonly name: string;
  /** The expression at size k (k ≥ 1); cost grows with k. */
  readonly source: (k: number) => string;
  readonly claims: unknown;
}

const FAMILIES: Family[] = [
  {
    name: 'nested literal loops (3 deep)',
    source: (k) => `${digits(k)}.all(a, ${digits(k)}.all(b, ${digits(k)}.all(c, a + b + c >= 0)))`,
    claims: {},
  },
  {
    name: 'errors in every step',
    source: (k) => `${digits(k)}.all(i, assertion.list.all(x, x.nope == 1))`,
    claims: CLAIMS.numbers,
  },
  {
    name: 'failed conversions',
    source: (k) => `${digits(k)}.all(i, assertion.list.all(x, int(x + 'z') > 0))`,
    claims: CLAIMS.strings,
  },
  {
    name: 'arithmetic',
    source: (k) => `${digits(k)}.all(i, assertion.list.all(x, x * 2.0 + 1.0 - x > 0.0))`,
    claims: CLAIMS.numbers,
  },
  { name: 'in over a literal list', source: (k) => `assertion.list.all(x, x in ${digits(k)})`, claims: CLAIMS.numbers },
  {
    name: 'map + in (image signatures)',
    source: (k) => `${digits(k)}.exists(f, string(f) in assertion.list.map(s, s.signature_algorithm + ':' + s.key_id))`,
    claims: CLAIMS.signatures,
  },
  {
    name: 'filter building lists',
    source: (k) => `${digits(k)}.all(i, size(assertion.list.filter(x, x == 0)) >= 0)`,
    claims: CLAIMS.numbers,
  },
  { name: 'regex program size', source: (k) => `assertion.s.matches('^(a|b){${k}}')`, claims: CLAIMS.long },
  {
    name: 'time zones',
    source: (k) => `${digits(k)}.all(i, timestamp('2024-01-01T00:00:00Z').getHours('America/New_York') >= 0)`,
    claims: {},
  },
  {
    name: 'timestamp parsing',
    source: (k) =>
      `${digits(k)}.all(i, assertion.list.all(x, timestamp('2024-01-01T00:00:00Z') > timestamp('2023-01-01T00:00:00Z')))`,
    claims: CLAIMS.numbers,
  },
  {
    name: 'string equality',
    source: (k) => `${digits(k)}.all(i, assertion.s + 'x' != assertion.s)`,
    claims: CLAIMS.long,
  },
  { name: 'contains', source: (k) => `${digits(k)}.all(i, !assertion.s.contains('b'))`, claims: CLAIMS.long },
];

function compile(source: string) {
  return compileCel(source, {
    variables: { assertion: jsonShape(MAX_CHARS) },
    runtimeCostLimit: Number.POSITIVE_INFINITY,
  });
}

/** The largest k whose expression the estimate admits (0 if none up to 4096). */
function largestAdmitted(family: Family): number {
  const admitted = (k: number) => compile(family.source(k)).estimate.cost <= LIMIT;
  if (!admitted(1)) return 0;
  let low = 1;
  let high = 2;
  while (high <= 4096 && admitted(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (admitted(mid)) low = mid;
    else high = mid;
  }
  return low;
}

function measure(
  source: string,
  claims: unknown,
): { estimate: number; spent: number; firstMs: number; bestMs: number } {
  const program = compile(source);
  const bindings = { assertion: toCelInput(claims) };
  const meter = new CostMeter(Number.POSITIVE_INFINITY);
  let started = performance.now();
  program.evaluate(bindings, { meter });
  const firstMs = performance.now() - started;
  let bestMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    started = performance.now();
    program.evaluate(bindings);
    bestMs = Math.min(bestMs, performance.now() - started);
  }
  return { estimate: program.estimate.cost, spent: meter.spent, firstMs, bestMs };
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}: figures scale with how busy the machine is`,
);
const unmetered = plan(celEnv(), parse(NESTED));
let started = performance.now();
unmetered({});
console.log(
  `The issue's expression (${NESTED.length} characters), plain @bufbuild/cel without a limit: ${(performance.now() - started).toFixed(0)} ms`,
);
const nested = compile(NESTED);
console.log(`  its estimate: ${Math.ceil(nested.estimate.cost)} units (limit ${LIMIT}); refused when stored`);
started = performance.now();
const aborted = compileCel(NESTED).evaluate({});
console.log(
  `  evaluated anyway under the runtime limit (${CEL_COST_LIMITS.runtime}): ${aborted.ok ? 'completed' : aborted.message} after ${(performance.now() - started).toFixed(0)} ms`,
);
console.log(`\nWorst admitted expression of each family on claims of ${MAX_CHARS} characters (estimate ≤ ${LIMIT}):`);
console.log(
  `${'family'.padEnd(30)} ${'k'.padStart(5)} ${'estimate'.padStart(9)} ${'spent'.padStart(9)} ${'first'.padStart(9)} ${'best'.padStart(9)} ns/unit`,
);
let worst = 0;
for (const family of FAMILIES) {
  const k = largestAdmitted(family);
  if (k === 0) {
    console.log(`${family.name.padEnd(30)} none admitted`);
    continue;
  }
  const m = measure(family.source(k), family.claims);
  worst = Math.max(worst, m.firstMs);
  console.log(
    `${family.name.padEnd(30)} ${String(k).padStart(5)} ${String(Math.ceil(m.estimate)).padStart(9)} ${String(Math.ceil(m.spent)).padStart(9)} ${m.firstMs.toFixed(1).padStart(7)}ms ${m.bestMs.toFixed(1).padStart(7)}ms ${((m.bestMs * 1e6) / Math.max(1, m.spent)).toFixed(0).padStart(7)}`,
  );
}
console.log(`\nSlowest admitted evaluation (first run): ${worst.toFixed(1)} ms`);
