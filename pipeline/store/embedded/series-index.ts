import { seriesKey, type Tags } from '../../../core/model.ts';

export type SeriesEntry = { id: number; metric: string; tags: Tags; key: string };

/** Every series the store knows, by key and by metric; ids are dense and stable. */
export class SeriesIndex {
  private readonly byKey = new Map<string, SeriesEntry>();
  private readonly byMetric = new Map<string, SeriesEntry[]>();
  private readonly byId: SeriesEntry[] = [];
  private readonly byTags = new WeakMap<Tags, SeriesEntry>();

  get size(): number {
    return this.byId.length;
  }

  /** Adds a series loaded from disk with its stored id. */
  restore(id: number, metric: string, tags: Tags): void {
    const entry: SeriesEntry = { id, metric, tags, key: seriesKey(metric, tags) };
    this.insert(entry);
  }

  /**
   * The entry of a series, and whether it is new. A frozen tags object (as the bus decoder shares
   * among the points of a series) is remembered, so its next points skip building the key.
   */
  resolve(metric: string, tags: Readonly<Tags>): { entry: SeriesEntry; created: boolean } {
    const known = this.byTags.get(tags);
    if (known !== undefined && known.metric === metric) return { entry: known, created: false };
    const frozen = Object.isFrozen(tags);
    const key = seriesKey(metric, tags);
    let entry = this.byKey.get(key);
    const created = entry === undefined;
    if (entry === undefined) {
      entry = { id: this.byId.length, metric, tags: frozen ? tags : { ...tags }, key };
      this.insert(entry);
    }
    if (frozen) this.byTags.set(tags, entry);
    return { entry, created };
  }

  get(id: number): SeriesEntry | undefined {
    return this.byId[id];
  }

  ofMetric(metric: string): readonly SeriesEntry[] {
    return this.byMetric.get(metric) ?? [];
  }

  all(): readonly SeriesEntry[] {
    return this.byId;
  }

  metrics(): IterableIterator<string> {
    return this.byMetric.keys();
  }

  private insert(entry: SeriesEntry): void {
    this.byKey.set(entry.key, entry);
    this.byId[entry.id] = entry;
    let list = this.byMetric.get(entry.metric);
    if (!list) {
      list = [];
      this.byMetric.set(entry.metric, list);
    }
    list.push(entry);
  }
}
