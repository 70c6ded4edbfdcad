/** The tracer for Node services: spans, B3 propagation, exporters and Bus helpers. */
export { B3_HEADERS, formatB3, type HeaderSource, parseB3, type SpanContext } from './b3.ts';
export {
  type ConsumeOptions,
  consumeTraced,
  extractFromMessage,
  injectToMessage,
  publishTraced,
  startProducerSpan,
} from './bus-propagation.ts';
export {
  EXPORT_SUCCESS,
  type ExportErrorHandler,
  type ExportResult,
  logExportErrors,
  type SpanExporter,
} from './exporter.ts';
export { createInMemoryExporter, type InMemoryExporter } from './in-memory-exporter.ts';
export {
  alwaysSample,
  createSampler,
  neverSample,
  probabilitySampler,
  type Sampler,
  type SamplerSpec,
} from './sampler.ts';
export {
  createSpanLogExporter,
  type SpanLogExporter,
  type SpanLogExporterOptions,
} from './span-log-exporter.ts';
export {
  createTracer,
  finishWhenSettled,
  type IdGenerator,
  type Peer,
  preciseClock,
  randomIds,
  type StartSpanOptions,
  type TagValue,
  type Tracer,
  type TracerOptions,
  type TracerSpan,
} from './tracer.ts';
export {
  createZipkinHttpExporter,
  type ZipkinHttpExporter,
  type ZipkinHttpExporterOptions,
  type ZipkinHttpExporterStats,
  zipkinEndpoint,
} from './zipkin-http-exporter.ts';
