/**
 * OpenTelemetry tracing, off unless `tracing.enabled`. The hub is instrumented with
 * @opentelemetry/api only; when tracing is off its tracer is the API's no-op one (no SDK loaded,
 * nothing recorded). When on, a tracer provider of this hub's own (not the global one: several hubs
 * may share a process) batches spans to an OTLP/HTTP collector.
 *
 * Spans (parents set explicitly from the request's context, so no global context manager is needed):
 *   hub.request                  one per GraphQL request (operation, outcome, request id)
 *   ├─ hub.policy.decide         purpose check and the compiled policy of an access(...) statement
 *   ├─ hub.connector.fetch       each department call (connector, resource, number of keys)
 *   └─ hub.audit.commit          each awaited evidence append (until durable)
 * Attributes carry codes and counts only: never a subject key, token or case number.
 */
import { context, ROOT_CONTEXT, trace, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';

export interface TracingConfig {
  readonly enabled: boolean;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  readonly endpoint: string;
  readonly serviceName: string;
  /** Fraction of requests traced (parent-based: a request's spans are all kept or all dropped). */
  readonly sampleRatio: number;
}

export interface HubTracing {
  readonly tracer: Tracer;
  readonly enabled: boolean;
  /** Sends spans still buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const NOOP: HubTracing = {
  tracer: trace.getTracerProvider().getTracer('yiwang-hub'),
  enabled: false,
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** The no-op tracer when off; the SDK (loaded only then) with an OTLP/HTTP exporter when on. */
export async function createTracing(config: TracingConfig | undefined): Promise<HubTracing> {
  if (!config?.enabled) return NOOP;
  const [{ BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint }))],
  });
  return {
    tracer: provider.getTracer('yiwang-hub'),
    enabled: true,
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}

/**
 * Runs `work` in a child span of `parent` (the request's context), ending it when `work` settles;
 * a failure sets the span's status (its message, which names codes, not subjects).
 */
export async function inSpan<T>(
  tracer: Tracer, name: string, parent: Context | undefined, attributes: Record<string, string | number | boolean>, work: (span: Span) => Promise<T> | T,
): Promise<T> {
  const span = tracer.startSpan(name, { attributes }, parent ?? ROOT_CONTEXT);
  // Not recorded (tracing off, or this request not sampled): no context to carry, nothing to end.
  if (!span.isRecording()) return work(span);
  try {
    return await context.with(trace.setSpan(parent ?? ROOT_CONTEXT, span), () => work(span));
  } catch (error) {
    const code = typeof (error as { extensions?: { code?: unknown } }).extensions?.code === 'string' ? String((error as { extensions: { code: string } }).extensions.code) : undefined;
    span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? (error instanceof Error ? error.name : 'error') });
    throw error;
  } finally {
    span.end();
  }
}
