/**
 * `$upstream_response_time` (and its siblings `$upstream_connect_time`, `$upstream_header_time`)
 * as nginx writes them. Pure.
 *
 * nginx writes one entry per upstream server contacted, each `-` (no response from that server)
 * or seconds with millisecond resolution (`0.012`). Entries of servers tried within one upstream
 * group (`proxy_next_upstream` retries) are joined by `", "`; an internal redirect to another
 * group (`X-Accel-Redirect`, `error_page`) starts a new group after `" : "`. For example
 * `"0.010, 0.020 : 0.005"` is two tries, then a redirect.
 *
 * The upstream time of a request is the **sum** of its entries: the time the request spent
 * waiting on upstreams, whichever of them answered. The nginx documentation gives the entries
 * as separate measurements of separate connections, so a sum is the only reading that keeps
 * "upstream time ≤ request time" true. `-` entries add nothing; a value made of `-` only has no
 * upstream time (`null`).
 */

export type UpstreamTime =
  | {
      ok: true;
      /** Total seconds over every entry; null when no entry had a time (`-`). */
      seconds: number | null;
      /** Entries, `-` included: servers contacted. */
      tries: number;
      /** Internal redirects (`" : "` separators). */
      redirects: number;
    }
  | { ok: false; reason: string };

/** Hot-path result of {@link sumUpstreamTime} when no entry had a time. */
export const NO_UPSTREAM_TIME = -1;

/**
 * Sums the entries of `s` between `start` and `end` (exclusive) without allocating.
 * Returns seconds, {@link NO_UPSTREAM_TIME} when every entry is `-`, or NaN when the text is not
 * a list of times. Spaces around the separators are optional.
 */
export function sumUpstreamTime(s: string, start: number, end: number): number {
  let i = start;
  // Whole milliseconds are summed as integers, so 0.003 + 0.026 is 0.029 exactly.
  let ms = 0;
  let finer = 0;
  let timed = false;
  for (;;) {
    while (i < end && s.charCodeAt(i) === 32) i++;
    if (i >= end) return Number.NaN;
    if (s.charCodeAt(i) === 45 /* - */) {
      i++;
    } else {
      let whole = 0;
      let digits = 0;
      let c = s.charCodeAt(i);
      while (c >= 48 && c <= 57) {
        whole = whole * 10 + (c - 48);
        digits++;
        c = ++i < end ? s.charCodeAt(i) : -1;
      }
      if (digits === 0) return Number.NaN;
      let frac = 0;
      let scale = 1;
      if (c === 46 /* . */) {
        c = ++i < end ? s.charCodeAt(i) : -1;
        while (c >= 48 && c <= 57) {
          frac = frac * 10 + (c - 48);
          scale *= 10;
          c = ++i < end ? s.charCodeAt(i) : -1;
        }
        if (scale === 1) return Number.NaN;
      }
      if (scale <= 1000) ms += whole * 1000 + frac * (1000 / scale);
      else finer += (whole * scale + frac) / scale;
      timed = true;
    }
    while (i < end && s.charCodeAt(i) === 32) i++;
    if (i >= end) return timed ? ms / 1000 + finer : NO_UPSTREAM_TIME;
    const sep = s.charCodeAt(i);
    if (sep !== 44 /* , */ && sep !== 58 /* : */) return Number.NaN;
    i++;
  }
}

/** Parses one `$upstream_response_time` value; never throws. */
export function parseUpstreamTime(value: string): UpstreamTime {
  const seconds = sumUpstreamTime(value, 0, value.length);
  if (Number.isNaN(seconds)) {
    const shown = value.length > 60 ? value.slice(0, 60) + '…' : value;
    return { ok: false, reason: `upstream time "${shown}" is not a list of times like "0.010, 0.020 : -"` };
  }
  let tries = 1;
  let redirects = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 44) tries++;
    else if (c === 58) {
      tries++;
      redirects++;
    }
  }
  return { ok: true, seconds: seconds === NO_UPSTREAM_TIME ? null : seconds, tries, redirects };
}
