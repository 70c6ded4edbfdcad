/**
 * The live feed: one socket.io connection that subscribes to pushed points and says whether it
 * is live. The server pushes; the page never polls.
 */
import { io } from '/vendor/socket.io/socket.io.esm.min.js';

/**
 * @typedef {{ metric: string, tags: Record<string, string>, ts: number, value: number }} LivePoint
 * @typedef {'connecting' | 'live' | 'reconnecting'} LiveState
 * @param {{
 *   onPoints: (points: LivePoint[]) => void,
 *   onState: (state: LiveState) => void,
 *   onReconnect?: () => void,
 * }} handlers `onReconnect` runs after a lost connection is back, to fill the gap.
 */
export function connectLive({ onPoints, onState, onReconnect }) {
  const socket = io({ transports: ['websocket', 'polling'] });
  let wasConnected = false;
  onState('connecting');
  socket.on('connect', () => {
    socket.emit('subscribe', () => {
      onState('live');
      if (wasConnected) onReconnect?.();
      wasConnected = true;
    });
  });
  socket.on('points', (points) => {
    if (Array.isArray(points)) onPoints(points);
  });
  socket.on('disconnect', (reason) => {
    onState('reconnecting');
    // After a server-side disconnect socket.io does not retry by itself; an ops page should.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
  });
  socket.on('connect_error', () => onState('reconnecting'));
  return { close: () => socket.close() };
}
