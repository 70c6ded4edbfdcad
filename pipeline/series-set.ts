/**
 * A set of series looked up by metric and tags without building their key: a hash over the
 * names, then a comparison with the few series of that hash. Ingest looks up every point's
 * series; building and hashing a fresh `seriesKey` string for each cost more than both together.
 */
import { seriesKey, type Tags } from '../core/model.ts';

export type KnownSeries = { readonly key: string; readonly metric: string; readonly tags: Readonly<Tags> };

type Entry = KnownSeries & { readonly tagCount: number };

const FNV_OFFSET = 0x811c9dc5;

function hashText(text: string, h: number): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** Murmur3's finaliser: spreads every bit of FNV's result over the word before the pairs are added. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The same for any order of the tags: each pair is hashed alone and the pairs' hashes added. */
function hashSeries(metric: string, tags: Tags): number {
  let pairs = 0;
  for (const k in tags) pairs = (pairs + mix(hashText(tags[k]!, hashText(k, FNV_OFFSET) ^ 0x3d))) | 0;
  return (hashText(metric, FNV_OFFSET) ^ pairs) >>> 0;
}

function matches(e: Entry, metric: string, tags: Tags): boolean {
  if (e.metric !== metric) return false;
  let n = 0;
  for (const k in tags) {
    if (e.tags[k] !== tags[k]) return false;
    n++;
  }
  return n === e.tagCount;
}

export class SeriesSet {
  private readonly byHash = new Map<number, Entry | Entry[]>();
  /**
   * Series by their tags object, for frozen ones only: the ingest decoders hand out one frozen
   * tags object per series they remember, so a point of a known series is found without hashing
   * its names. A frozen object cannot change, so the entry stays right for it.
   */
  private readonly byTags = new WeakMap<Readonly<Tags>, Entry>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The series of these names, if it is in the set. */
  get(metric: string, tags: Tags): KnownSeries | undefined {
    const same = this.byTags.get(tags);
    if (same !== undefined && same.metric === metric) return same;
    const found = this.byHash.get(hashSeries(metric, tags));
    if (found === undefined) return undefined;
    let entry: Entry | undefined;
    if (!Array.isArray(found)) entry = matches(found, metric, tags) ? found : undefined;
    else entry = found.find((e) => matches(e, metric, tags));
    if (entry !== undefined && Object.isFrozen(tags)) this.byTags.set(tags, entry);
    return entry;
  }

  /** Adds a series (not in the set yet) and returns it, its key built once here. */
  add(metric: string, tags: Tags): KnownSeries {
    const copy = Object.freeze({ ...tags });
    // A key built by concatenation is a rope that every later copy (joining a record) walks again:
    // flatten it once here.
    const key = Buffer.from(seriesKey(metric, copy)).toString();
    const entry: Entry = { key, metric, tags: copy, tagCount: Object.keys(copy).length };
    const h = hashSeries(metric, copy);
    const found = this.byHash.get(h);
    if (found === undefined) this.byHash.set(h, entry);
    else if (Array.isArray(found)) found.push(entry);
    else this.byHash.set(h, [found, entry]);
    this.count++;
    return entry;
  }
}
