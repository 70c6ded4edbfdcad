/** Keeps finished spans in memory, for tests and demos. */
import type { Span } from '../../core/model.ts';
import { closedResult, EXPORT_SUCCESS, type SpanExporter } from './exporter.ts';

export type InMemoryExporter = SpanExporter & {
  /** The spans exported so far, oldest first. */
  finishedSpans(): readonly Span[];
  /** Forgets the spans kept so far. */
  reset(): void;
};

export function createInMemoryExporter(): InMemoryExporter {
  let spans: Span[] = [];
  let closed = false;
  return {
    async export(batch) {
      if (closed) return closedResult('in-memory exporter');
      for (const s of batch) spans.push(structuredClone(s));
      return EXPORT_SUCCESS;
    },
    flush: async () => EXPORT_SUCCESS,
    async shutdown() {
      closed = true;
    },
    finishedSpans: () => spans,
    reset() {
      spans = [];
    },
  };
}
