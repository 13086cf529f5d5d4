import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestSample } from '@sealroom/transport';
import { Counter, Histogram, Registry } from 'prom-client';
import { registerRequestMetrics } from './request-metrics.ts';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const COUNTER = { name: 'sealroom_requests_total', help: 'Requests answered.' };
const HISTOGRAM = { name: 'sealroom_request_duration_seconds', help: 'Time to answer a request.' };

test("the scrape prints what prom-client's own Counter and Histogram print for the same requests", async () => {
  const ours = new Registry();
  const observe = registerRequestMetrics(ours, { counter: COUNTER, histogram: { ...HISTOGRAM, buckets: BUCKETS } });
  // prom-client itself, fed the same requests, is the oracle.
  const oracle = new Registry();
  const labelNames = ['transport', 'method', 'route', 'code'] as const;
  const requests = new Counter({ ...COUNTER, labelNames, registers: [oracle] });
  const latency = new Histogram({ ...HISTOGRAM, labelNames, buckets: BUCKETS, registers: [oracle] });

  const routes = [
    '/v1/{name=projects/*}',
    'unmatched',
    'google.cloud.kms.v1.KeyManagementService/Decrypt',
    'a "quoted" \\ route\nline',
  ];
  // Every bound exactly (a bucket counts values at or below it), between bounds, zero, and above every bound.
  const seconds = [0, ...BUCKETS, ...BUCKETS.map((b) => b * 1.5), 0.0004, 31, 1e6];
  let n = 0;
  for (const route of routes) {
    for (const code of ['200', '404', 'OK']) {
      for (const value of seconds) {
        n++;
        if (n % 3 === 0) continue; // not every series sees every value
        const sample: RequestSample = {
          transport: n % 2 ? 'http' : 'grpc',
          method: n % 5 ? 'GET' : 'POST',
          route,
          code,
          seconds: value,
        };
        observe(sample);
        const labels = { transport: sample.transport, method: sample.method, route: sample.route, code: sample.code };
        requests.inc(labels);
        latency.observe(labels, sample.seconds);
      }
    }
  }
  const printed = await ours.metrics();
  assert.equal(printed, await oracle.metrics());
  assert.match(
    printed,
    /sealroom_request_duration_seconds_bucket\{le="0.001",transport="http",method="GET",route="unmatched",code="200"\} \d+/,
  );
  assert.ok(printed.split('\n').length > 400, 'many series were printed');
  assert.deepEqual(await ours.getMetricsAsJSON(), await oracle.getMetricsAsJSON());
  // resetMetrics() empties both, as it empties prom-client's own.
  ours.resetMetrics();
  oracle.resetMetrics();
  assert.equal(await ours.metrics(), await oracle.metrics());
  assert.deepEqual(await ours.getMetricsAsJSON(), await oracle.getMetricsAsJSON());
});

test('a registry with no requests yet prints both metrics empty, as prom-client does', async () => {
  const ours = new Registry();
  registerRequestMetrics(ours, { counter: COUNTER, histogram: { ...HISTOGRAM, buckets: BUCKETS } });
  const oracle = new Registry();
  const labelNames = ['transport', 'method', 'route', 'code'] as const;
  new Counter({ ...COUNTER, labelNames, registers: [oracle] });
  new Histogram({ ...HISTOGRAM, labelNames, buckets: BUCKETS, registers: [oracle] });
  assert.equal(await ours.metrics(), await oracle.metrics());
});
