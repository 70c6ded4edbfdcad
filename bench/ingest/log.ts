/** What `bench:ingest` says on stderr: timestamped progress lines, and usage errors that end it. */

export const log = (message: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

export function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
