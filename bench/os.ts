/** What several benchmarks ask of the machine: its clock tick and a free loopback port. */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

/** Clock ticks per second, the unit of the CPU times in `/proc/<pid>/stat` and `/proc/stat`. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}
