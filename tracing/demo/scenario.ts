/**
 * The decisions of the push demo, as pure functions: what kind of call the load loop makes, how a
 * device token tells the services what to do with it, which push daemon a worker sends it to, and
 * how many calls are due at a given rate.
 *
 * The kind of a call travels in the device token only (`dev-…`, `slow-…`, `gone-…`), so the
 * services see nothing but ordinary notifications: a device on a slow network answers slowly, a
 * device that went away makes the push daemon throw `DeviceOffline`.
 */
import { HubError } from '../../core/errors.ts';

export type CallKind = 'normal' | 'slow' | 'fail';

/** Shares of slow and failing calls; the rest are normal. */
export type CallMix = { slow: number; fail: number };

/** ≈10 % slow and ≈5 % failing, as the demo promises. */
export const DEFAULT_MIX: CallMix = Object.freeze({ slow: 0.1, fail: 0.05 });

const PREFIX: Record<CallKind, string> = { normal: 'dev-', slow: 'slow-', fail: 'gone-' };

/** The kind for a uniform random number `r` in [0, 1). */
export function pickKind(r: number, mix: CallMix = DEFAULT_MIX): CallKind {
  if (r < mix.fail) return 'fail';
  if (r < mix.fail + mix.slow) return 'slow';
  return 'normal';
}

/** A device token that makes a call of `kind`. */
export function deviceToken(kind: CallKind, n: number): string {
  return `${PREFIX[kind]}${n.toString(36).padStart(6, '0')}`;
}

/** What a device token asks for. */
export function kindOfToken(token: string): CallKind {
  if (token.startsWith(PREFIX.slow)) return 'slow';
  if (token.startsWith(PREFIX.fail)) return 'fail';
  return 'normal';
}

/** FNV-1a, 32 bits: a stable spread of device tokens over the daemons. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The index of the push daemon that holds a device's connection, among `count`. Devices on slow
 * networks sit on the last daemon (the degraded one); the others are spread by a hash.
 */
export function pickPushd(token: string, count: number): number {
  if (count < 1) throw new HubError('BAD_REQUEST', 'No push daemon to pick from', { where: 'pushd' });
  if (kindOfToken(token) === 'slow') return count - 1;
  return hash(token) % count;
}

/** Calls due after `elapsedMs` at `rate` per second, when `sent` are already out. */
export function callsDue(rate: number, elapsedMs: number, sent: number): number {
  return Math.max(0, Math.floor((rate * elapsedMs) / 1000) - sent);
}
