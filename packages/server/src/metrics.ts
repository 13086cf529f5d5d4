// The deployment's `/metrics` in Prometheus's text format (prom-client): requests, token exchanges, key uses and
// the modules' gauges, behind one access rule (a bearer credential from a file, or dev mode on loopback).
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuditRecord, ProjectRef } from '@sealroom/core';
import type { AuditSink } from '@sealroom/iam';
import type { ModuleGauge, RequestSample, ServiceModule } from '@sealroom/transport';
import { Counter, Gauge, Registry } from 'prom-client';
import { registerRequestMetrics } from './request-metrics.ts';

/** Prometheus's text exposition format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const EXCHANGE_METHOD = 'google.identity.sts.v1.SecurityTokenService.ExchangeToken';
/** The KMS methods that use key material (Cloud KMS's data-plane methods). */
const KEY_USE_METHOD = /^google\.cloud\.kms\.v1\.KeyManagementService\.(\w*(Encrypt|Decrypt|Sign|Verify)\w*)$/;
/** Seconds: sub-millisecond answers up to a slow build push. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface DeploymentMetrics {
  readonly contentType: string;
  /** For the REST app's and the gRPC server's `onRequestDone` / `onCallDone`. */
  observeRequest(sample: RequestSample): void;
  /** Wraps the audit sink: every audited exchange and key use is counted, then passed on. */
  countingAuditSink<Item>(next: AuditSink<Item>): AuditSink<Item>;
  /** The scrape: counters as they are, gauges read from the modules now. */
  render(): Promise<string>;
}

export interface MetricsOptions {
  readonly modules: () => readonly ServiceModule[];
  readonly projects: () => Promise<readonly ProjectRef[]>;
}

export function createDeploymentMetrics(options: MetricsOptions): DeploymentMetrics {
  const registry = new Registry();
  const observeRequest = registerRequestMetrics(registry, {
    counter: {
      name: 'sealroom_requests_total',
      help: 'Requests answered, by transport (http, grpc), method, route template and status code.',
    },
    histogram: {
      name: 'sealroom_request_duration_seconds',
      help: 'Time to answer a request (a gRPC stream: its whole life), by transport, method, route and code.',
      buckets: LATENCY_BUCKETS,
    },
  });
  const exchanges = new Counter({
    name: 'sealroom_token_exchanges_total',
    help: 'STS token exchanges, granted or refused.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const keyUses = new Counter({
    name: 'sealroom_kms_key_uses_total',
    help: 'KMS operations on key material (encrypt, decrypt, sign, …), by method and outcome (allowed, denied, failed).',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  for (const outcome of ['granted', 'refused']) exchanges.labels({ outcome }).inc(0);
  const gauges = new Map<string, Gauge>();
  const gaugeFor = (spec: ModuleGauge): Gauge => {
    let gauge = gauges.get(spec.name);
    if (!gauge) {
      gauge = new Gauge({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] });
      gauges.set(spec.name, gauge);
    }
    return gauge;
  };
  return {
    contentType: METRICS_CONTENT_TYPE,
    observeRequest,
    countingAuditSink(next) {
      return {
        serializeOn: next.serializeOn,
        write: (tx, items) => next.write(tx, items),
        prepare(record: AuditRecord, projectNumber: string) {
          if (record.method === EXCHANGE_METHOD)
            exchanges.inc({ outcome: record.outcome === 'ALLOWED' ? 'granted' : 'refused' });
          const keyUse = KEY_USE_METHOD.exec(record.method);
          if (keyUse) keyUses.inc({ method: keyUse[1] as string, outcome: record.outcome.toLowerCase() });
          return next.prepare(record, projectNumber);
        },
      };
    },
    async render() {
      const projects = await options.projects();
      for (const module of options.modules()) {
        for (const spec of (await module.gauges?.(projects)) ?? []) {
          const gauge = gaugeFor(spec);
          // A subscription or status gone since the last scrape must not linger with its old value.
          gauge.reset();
          for (const sample of spec.samples) gauge.set({ ...sample.labels }, sample.value);
        }
      }
      return registry.metrics();
    },
  };
}

export type MetricsAccess =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

/**
 * Who may scrape: with `metricsBearerTokenFile` set, a caller presenting that token (compared in constant
 * time), whatever its address; without it, a dev server answers loopback callers only, and a production
 * server nobody (it says which setting opens it).
 */
export function createMetricsAccess(options: {
  readonly bearerTokenFile: string | undefined;
  readonly dev: boolean;
}): (authorization: string | undefined, remoteAddress: string | undefined) => MetricsAccess {
  const expected =
    options.bearerTokenFile === undefined
      ? undefined
      : Buffer.from(readFileSync(options.bearerTokenFile, 'utf8').trim());
  return (authorization, remoteAddress) => {
    if (expected !== undefined) {
      const presented = Buffer.from(/^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? '');
      const ok = presented.length === expected.length && timingSafeEqual(presented, expected);
      return ok
        ? { allowed: true }
        : {
            allowed: false,
            status: 401,
            message: 'Scraping /metrics needs the bearer token of metricsBearerTokenFile.',
          };
    }
    if (options.dev && isLoopback(remoteAddress)) return { allowed: true };
    return {
      allowed: false,
      status: 403,
      message: options.dev
        ? '/metrics answers loopback callers in dev mode; set metricsBearerTokenFile to scrape from elsewhere.'
        : '/metrics is closed: set metricsBearerTokenFile (SEALROOM_METRICS_BEARER_TOKEN_FILE) and scrape with that bearer token.',
    };
  };
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}
