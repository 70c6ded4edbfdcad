/**
 * Human units for the pages. Each formatter returns `[number, unit]` so a page can set the two
 * apart (a big number with a small unit); `format` joins them.
 */

/** @param {number} v */
function digits(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 10) return v.toFixed(2);
  if (a < 100) return v.toFixed(1);
  return v.toFixed(0);
}

/** @param {number | null | undefined} v @returns {[string, string]} */
export function percentParts(v) {
  if (v == null || !Number.isFinite(v)) return ['–', '%'];
  return [Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0), '%'];
}

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Sizes in powers of 1024 (memory, disks). @param {number | null | undefined} v @returns {[string, string]} */
export function bytesParts(v) {
  if (v == null || !Number.isFinite(v)) return ['–', 'B'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < IEC.length - 1) {
    x /= 1024;
    i++;
  }
  return [i === 0 ? x.toFixed(0) : digits(x), IEC[i]];
}

const SI_RATE = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];

/** Throughput in powers of 1000, as network tools show it. @param {number | null | undefined} v @returns {[string, string]} */
export function rateParts(v) {
  if (v == null || !Number.isFinite(v)) return ['–', 'B/s'];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < SI_RATE.length - 1) {
    x /= 1000;
    i++;
  }
  return [i === 0 ? x.toFixed(0) : digits(x), SI_RATE[i]];
}

/** @param {[string, string]} parts */
export function format(parts) {
  return parts[0] === '–' ? '–' : `${parts[0]} ${parts[1]}`;
}

/** "just now", "12 s ago", "3 min ago". @param {number} ms */
export function ago(ms) {
  if (ms < 1500) return 'just now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}
