#!/usr/bin/env node
// Sends traces, metrics and logs to a vigild through the official
// OpenTelemetry JS SDK and its OTLP/HTTP protobuf exporters, with no
// collector in between. Used by tests/integration/compat/otlp_test.cpp.
//
// Usage: node emit.js --target http://127.0.0.1:PORT --modules DIR
//   DIR holds node_modules from install.sh.
//
// Three services, storefront -> basket -> inventory, each with its own
// provider and resource. Trace context crosses between them through a W3C
// traceparent header (inject, then extract), as it would over HTTP. The
// second trace fails in inventory and the error propagates up. basket also
// exports metrics (gzip), inventory exports logs tied to its spans.
//
// Every export result is counted by wrapping the exporters; the last line on
// stdout is
//   otlp-emit done spans=N metric_exports=N log_records=N failures=N
// and the exit status is 1 when any export failed.
'use strict';
const path = require('path');
const { createRequire } = require('module');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : undefined;
}
const target = (arg('--target') || '').replace(/\/+$/, '');
const modules = arg('--modules');
if (!target || !modules) {
  console.error('usage: emit.js --target URL --modules DIR');
  process.exit(2);
}
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(target)) {
  console.error(`refusing non-loopback target ${target}`);
  process.exit(2);
}
const need = createRequire(path.join(path.resolve(modules), 'package.json'));

const { trace, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode } =
  need('@opentelemetry/api');
const { W3CTraceContextPropagator, ExportResultCode } =
  need('@opentelemetry/core');
const { resourceFromAttributes } = need('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } =
  need('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = need('@opentelemetry/exporter-trace-otlp-proto');
const { MeterProvider, PeriodicExportingMetricReader } =
  need('@opentelemetry/sdk-metrics');
const { OTLPMetricExporter } =
  need('@opentelemetry/exporter-metrics-otlp-proto');
const { LoggerProvider, BatchLogRecordProcessor } =
  need('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = need('@opentelemetry/exporter-logs-otlp-proto');
const { SeverityNumber } = need('@opentelemetry/api-logs');

propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const tally = { spans: 0, metric_exports: 0, log_records: 0, failures: 0 };

// Forwards to `inner`, counting what each export carried and how it ended.
function counted(inner, kind) {
  return {
    export(items, done) {
      inner.export(items, (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          if (kind === 'spans') tally.spans += items.length;
          else if (kind === 'logs') tally.log_records += items.length;
          else tally.metric_exports += 1;
        } else {
          tally.failures += 1;
          console.error(`${kind} export failed: ${result.error}`);
        }
        done(result);
      });
    },
    forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: inner.selectAggregationTemporality
      ? (k) => inner.selectAggregationTemporality(k) : undefined,
    selectAggregation: inner.selectAggregation
      ? (k) => inner.selectAggregation(k) : undefined,
  };
}

function resource(service, version) {
  return resourceFromAttributes({
    'service.name': service,
    'service.version': version,
    'service.instance.id': `${service}-${process.pid}`,
    'deployment.environment.name': 'compat-test',
  });
}

function tracerProvider(service, version) {
  const exporter = counted(
    new OTLPTraceExporter({ url: `${target}/v1/traces` }), 'spans');
  const provider = new BasicTracerProvider({
    resource: resource(service, version),
    // Flushed by hand, so each service sends one request per flush.
    spanProcessors: [new BatchSpanProcessor(exporter,
      { scheduledDelayMillis: 60000 })],
  });
  return { provider, tracer: provider.getTracer(service, version) };
}

// A remote call from the span `client` to another service: what that
// service's server span would extract from the request headers.
function carry(client) {
  const headers = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, client), headers);
  return propagation.extract(ROOT_CONTEXT, headers);
}

function oneTrace(svc, n, fail) {
  const at = (ms) => new Date(Date.now() - 1000 + ms);
  const http = (method, route) => ({
    'http.request.method': method, 'http.route': route });
  const root = svc.storefront.tracer.startSpan('GET /basket',
    { kind: SpanKind.SERVER, startTime: at(0), attributes: http('GET', '/basket') });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const sfCall = svc.storefront.tracer.startSpan('GET',
    { kind: SpanKind.CLIENT, startTime: at(1),
      attributes: { 'server.address': 'basket' } }, rootCtx);

  const bServer = svc.basket.tracer.startSpan('GET /items',
    { kind: SpanKind.SERVER, startTime: at(2), attributes: http('GET', '/items') },
    carry(sfCall));
  const bCtx = trace.setSpan(ROOT_CONTEXT, bServer);
  const query = svc.basket.tracer.startSpan('SELECT basket_items',
    { kind: SpanKind.CLIENT, startTime: at(3),
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' } },
    bCtx);
  query.end(at(9));
  const bCall = svc.basket.tracer.startSpan('GET',
    { kind: SpanKind.CLIENT, startTime: at(10),
      attributes: { 'server.address': 'inventory' } }, bCtx);

  const iServer = svc.inventory.tracer.startSpan('GET /stock',
    { kind: SpanKind.SERVER, startTime: at(11), attributes: http('GET', '/stock') },
    carry(bCall));
  const lookup = svc.inventory.tracer.startSpan('stock lookup',
    { startTime: at(12), attributes: { 'basket.n': n } },
    trace.setSpan(ROOT_CONTEXT, iServer));
  const code = fail ? 503 : 200;
  if (fail) {
    const err = new Error('stock store unavailable');
    err.name = 'StockUnavailable';
    lookup.recordException(err, at(40));
    lookup.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  }
  lookup.end(at(41));
  for (const [span, end] of [[iServer, 42], [bCall, 43], [bServer, 44],
                             [sfCall, 45], [root, 46]]) {
    span.setAttribute('http.response.status_code', code);
    if (fail) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(at(end));
  }
}

async function traces() {
  const svc = {
    storefront: tracerProvider('storefront', '3.1.0'),
    basket: tracerProvider('basket', '1.7.2'),
    inventory: tracerProvider('inventory', '0.4.0'),
  };
  oneTrace(svc, 1, false);
  oneTrace(svc, 2, true);
  for (const s of Object.values(svc)) {
    await s.provider.forceFlush();
    await s.provider.shutdown();
  }
}

async function metrics() {
  const reader = new PeriodicExportingMetricReader({
    exporter: counted(new OTLPMetricExporter(
      { url: `${target}/v1/metrics`, compression: 'gzip' }), 'metrics'),
    exportIntervalMillis: 60000,
  });
  const provider = new MeterProvider(
    { resource: resource('basket', '1.7.2'), readers: [reader] });
  const meter = provider.getMeter('basket', '1.7.2');
  const duration = meter.createHistogram('http.server.request.duration',
    { unit: 's', description: 'Duration of HTTP server requests.' });
  const added = meter.createCounter('basket.items.added',
    { unit: '{item}', description: 'Items put into baskets.' });
  let open = 4;
  meter.createObservableGauge('basket.open',
    { unit: '{basket}', description: 'Baskets not checked out yet.' })
    .addCallback((r) => r.observe(open));
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 4; k++) {
      duration.record(0.02 + 0.01 * k,
        { 'http.route': '/items', 'http.response.status_code': 200 });
      added.add(k + 1);
    }
    open += 3;
    await reader.forceFlush();
  }
  await provider.shutdown();
}

async function logs() {
  const provider = new LoggerProvider({
    resource: resource('inventory', '0.4.0'),
    processors: [new BatchLogRecordProcessor({ exporter: counted(
      new OTLPLogExporter({ url: `${target}/v1/logs` }), 'logs') })],
  });
  const logger = provider.getLogger('inventory', '0.4.0');
  const spans = new BasicTracerProvider({ resource: resource('inventory', '0.4.0') });
  const span = spans.getTracer('inventory').startSpan('stock lookup');
  const context = trace.setSpan(ROOT_CONTEXT, span);
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO',
    body: 'stock lookup for basket 17', context });
  logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN',
    body: 'stock store slow: 180ms', attributes: { 'latency_ms': 180 }, context });
  logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR',
    body: 'StockUnavailable: stock store unavailable', context });
  span.end();
  await provider.forceFlush();
  await provider.shutdown();
}

(async () => {
  await traces();
  await metrics();
  await logs();
  console.log(`otlp-emit done spans=${tally.spans} `
    + `metric_exports=${tally.metric_exports} `
    + `log_records=${tally.log_records} failures=${tally.failures}`);
  process.exit(tally.failures === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
