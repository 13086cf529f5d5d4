// The request counter and latency histogram behind `/metrics`, kept per series in plain numbers and handed to
// prom-client's registry when it is scraped. prom-client's own labelled `inc` and `observe` sort, join and
// validate the label values on every call (~2 µs of every request, a tenth of a cached authorized read);
// here a request costs one map lookup, and the scrape prints what prom-client's Counter and Histogram print.
import type { RequestSample } from '@sealroom/transport';
import type { Registry } from 'prom-client';

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  count: number;
  sum: number;
  /** Observations per bucket, not cumulative; one past the last bound for those above every bound. */
  readonly buckets: Float64Array;
}

/** One line of a scrape, shaped as prom-client's own metrics give it (its JSON view compares them whole). */
interface ValuePair {
  readonly value: number;
  readonly metricName?: string;
  readonly exemplar?: null | undefined;
  readonly labels: Readonly<Record<string, string | number>>;
}

export interface RequestMetricNames {
  readonly counter: { readonly name: string; readonly help: string };
  readonly histogram: { readonly name: string; readonly help: string; readonly buckets: readonly number[] };
}

/** Registers the two metrics on `registry`; the returned function counts one answered request. */
export function registerRequestMetrics(registry: Registry, names: RequestMetricNames): (sample: RequestSample) => void {
  const bounds = [...names.histogram.buckets].sort((a, b) => a - b);
  const series = new Map<string, Series>();
  const seriesOf = (sample: RequestSample): Series => {
    const key = `${sample.transport}\n${sample.method}\n${sample.code}\n${sample.route}`;
    let found = series.get(key);
    if (found === undefined) {
      found = {
        labels: { transport: sample.transport, method: sample.method, route: sample.route, code: sample.code },
        count: 0,
        sum: 0,
        buckets: new Float64Array(bounds.length + 1),
      };
      series.set(key, found);
    }
    return found;
  };
  // The objects prom-client's registry reads on a scrape: a name, help, type and the values of `get()`.
  const { counter, histogram } = names;
  // As prom-client's metrics: `reset()` forgets every series, and a cluster's registries add their values.
  const reset = (): void => series.clear();
  registry.registerMetric({
    name: counter.name,
    help: counter.help,
    type: 'counter',
    aggregator: 'sum',
    reset,
    get: async () => ({
      name: counter.name,
      help: counter.help,
      type: 'counter',
      aggregator: 'sum',
      values: [...series.values()].map((s): ValuePair => ({ value: s.count, labels: s.labels })),
    }),
  } as unknown as Parameters<Registry['registerMetric']>[0]);
  registry.registerMetric({
    name: histogram.name,
    help: histogram.help,
    type: 'histogram',
    aggregator: 'sum',
    reset,
    get: async () => {
      const values: ValuePair[] = [];
      const bucket = `${histogram.name}_bucket`;
      for (const s of series.values()) {
        let cumulative = 0;
        for (const [i, bound] of bounds.entries()) {
          cumulative += s.buckets[i] as number;
          values.push({ value: cumulative, metricName: bucket, exemplar: null, labels: { le: bound, ...s.labels } });
        }
        values.push(
          { value: s.count, metricName: bucket, exemplar: null, labels: { le: '+Inf', ...s.labels } },
          { value: s.sum, metricName: `${histogram.name}_sum`, exemplar: undefined, labels: s.labels },
          { value: s.count, metricName: `${histogram.name}_count`, exemplar: undefined, labels: s.labels },
        );
      }
      return { name: histogram.name, help: histogram.help, type: 'histogram', values, aggregator: 'sum' };
    },
  } as unknown as Parameters<Registry['registerMetric']>[0]);
  return (sample) => {
    const s = seriesOf(sample);
    s.count += 1;
    s.sum += sample.seconds;
    // A bucket counts the values at or below its bound (Prometheus's `le`), as prom-client's Histogram does.
    let i = 0;
    while (i < bounds.length && sample.seconds > (bounds[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] as number) + 1;
  };
}
