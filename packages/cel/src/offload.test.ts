// The CEL worker pool: costly decisions leave the event loop free, agree with inline ones, and are cut off at a deadline.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compileIamCondition } from './iam-condition.ts';
import { CEL_OFFLOAD_LIMITS, createCelWorkerPool } from './offload.ts';
import { compileProviderPolicy } from './wif.ts';

const digits = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;
/** Admitted by the estimate, and costly: over half a million units on these claims, tens of milliseconds or more. */
const COSTLY = `assertion.list.all(x, x in ${digits(40)})`;
const claims = { sub: 'w', list: Array.from({ length: 8000 }, () => 0) };
const MAPPING = { 'google.subject': 'assertion.sub' };

describe('CEL worker pool', () => {
  const pool = createCelWorkerPool({ size: 1 });
  after(() => pool.close());

  it('decides a costly policy on a worker while the event loop keeps running', async () => {
    const source = { attributeMapping: MAPPING, attributeCondition: COSTLY };
    const policy = compileProviderPolicy(source);
    assert.ok(policy.estimatedCost > CEL_OFFLOAD_LIMITS.inlineCost, String(policy.estimatedCost));
    await pool.decide(source, claims); // the worker has started and compiled the policy
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const decision = await pool.decide(source, claims);
    running = false;
    const inline = policy.decide(claims);
    assert.deepEqual(decision, inline);
    assert.equal(decision.granted, true);
    // Run inline, the evaluation would hold the loop for its whole duration: no turn could happen.
    assert.ok(turns > 1, `the event loop turned ${turns} times while the worker evaluated`);
  });

  it('returns the same denial and explanation as an inline decision, with non-bool values as null', async () => {
    const source = { attributeMapping: MAPPING, attributeCondition: `${COSTLY} && assertion.sub == 'other'` };
    // Fewer items: the explanation evaluates every clause again, within the same budget.
    const fewer = { ...claims, list: claims.list.slice(0, 3000) };
    const decision = await pool.decide(source, fewer, { explain: true });
    const inline = compileProviderPolicy(source).decide(fewer, { explain: true });
    assert.equal(decision.granted, false);
    assert.deepEqual(decision, inline);
    const notBool = { attributeMapping: MAPPING, attributeCondition: `${COSTLY} ? 'yes' : 'no'` };
    const odd = await pool.decide(notBool, fewer, { explain: true });
    assert.equal(odd.granted, false);
    assert.deepEqual(odd.explanation?.result, { ok: true, value: null });
  });

  it('denies a policy that does not compile', async () => {
    const decision = await pool.decide({ attributeMapping: MAPPING, attributeCondition: '(((' }, claims);
    assert.equal(decision.granted, false);
  });

  it('evaluates IAM conditions like the inline program does', async () => {
    const facts = {
      nowMs: Date.UTC(2026, 10, 1),
      name: 'projects/1/topics/t',
      type: 'pubsub.googleapis.com/Topic',
      service: 'pubsub.googleapis.com',
    };
    assert.deepEqual(await pool.evaluateIamCondition('request.time < timestamp("2027-01-01T00:00:00Z")', facts), {
      ok: true,
      value: true,
    });
    assert.deepEqual(await pool.evaluateIamCondition('resource.name == "x"', facts), { ok: true, value: false });
    assert.deepEqual(await pool.evaluateIamCondition('resource.name', facts), { ok: true, value: null });
    const cut = await pool.evaluateIamCondition(
      `${digits(10)}.all(a,${digits(10)}.all(b,${digits(10)}.all(c,${digits(10)}.all(d,${digits(10)}.all(e,${digits(10)}.all(f,a+b+c+d+e+f>=0))))))`,
      facts,
    );
    assert.equal(cut.ok ? 'ok' : cut.code, 'ERR_CEL_COST_LIMIT');
    assert.equal(compileIamCondition('resource.name == "x"').estimate.cost <= CEL_OFFLOAD_LIMITS.inlineCost, true);
  });
});

describe('CEL worker pool limits', () => {
  it('cuts off an evaluation at its deadline as a cost-limit denial and drops its worker', async () => {
    const pool = createCelWorkerPool({ size: 1, deadlineMs: 1 });
    try {
      const source = { attributeMapping: MAPPING, attributeCondition: COSTLY };
      const decision = await pool.decide(source, claims);
      assert.equal(decision.granted, false);
      if (!decision.granted) {
        assert.equal(decision.denial.code, 'ERR_CEL_COST_LIMIT');
        assert.match(decision.denial.reason, /deadline of 1 ms/);
      }
      assert.equal(pool.load, 0);
    } finally {
      await pool.close();
    }
  });

  it('refuses evaluations past the queue limit as ERR_CEL_BUSY instead of piling them up', async () => {
    const pool = createCelWorkerPool({ size: 1, maxQueued: 2 });
    try {
      const source = { attributeMapping: MAPPING, attributeCondition: COSTLY };
      // The worker is still starting: both wait in the queue, which is then full.
      const running = [pool.decide(source, claims), pool.decide(source, claims)];
      await assert.rejects(pool.decide(source, claims), { code: 'ERR_CEL_BUSY' });
      for (const decision of await Promise.all(running)) assert.equal(decision.granted, true);
    } finally {
      await pool.close();
    }
  });
});

describe('decideAsync of a policy whose worst case is costly', () => {
  const source = { attributeMapping: MAPPING, attributeCondition: COSTLY };
  const policy = compileProviderPolicy(source);

  it('grants cheap claims on the calling thread, before any other task runs', async () => {
    assert.ok(policy.estimatedCost > CEL_OFFLOAD_LIMITS.inlineCost, String(policy.estimatedCost));
    const cheap = { sub: 'w', list: [0, 1, 2] };
    let macrotaskRan = false;
    const timer = setImmediate(() => {
      macrotaskRan = true;
    });
    const decision = await policy.decideAsync(cheap);
    clearImmediate(timer);
    assert.equal(macrotaskRan, false, 'a worker round trip would have let the immediate run first');
    assert.deepEqual(decision, policy.decide(cheap));
    assert.equal(decision.granted, true);
  });

  it('sends claims that outrun the inline budget to a worker under the full limit, and still grants', async () => {
    const decision = await policy.decideAsync(claims);
    assert.deepEqual(decision, policy.decide(claims));
    assert.equal(decision.granted, true);
  });

  it('explains a refusal with the full budget, as decide does', async () => {
    const refusing = compileProviderPolicy({
      attributeMapping: MAPPING,
      attributeCondition: `${COSTLY} && assertion.sub == 'other'`,
    });
    const cheap = { sub: 'w', list: [0, 1, 2] };
    const decision = await refusing.decideAsync(cheap);
    assert.equal(decision.granted, false);
    assert.deepEqual(decision, refusing.decide(cheap));
  });
});
