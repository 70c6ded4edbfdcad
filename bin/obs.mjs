#!/usr/bin/env node
// Runs the TypeScript sources directly: tsx compiles them on load, so there is no build step.
//
// `obs agent` runs on every node and must stay small. tsx's loader costs it ~20 MB (a module-hooks
// thread, the compiled sources and their source maps), so the agent runs the same sources compiled
// by tsx's own compiler (esbuild) into a few plain modules under node_modules/.cache/obs, compiled
// again on the first start after one of them changed. When that fails, it runs through tsx too.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, 'node_modules', '.cache', 'obs');
const current = join(cache, 'current.json');

/** A name for the state of `files`: their paths, sizes and modification times. */
function stateOf(files) {
  const hash = createHash('sha256');
  for (const file of files) {
    const s = statSync(join(root, file), { throwIfNoEntry: false });
    hash.update(`${file}\0${s?.size ?? -1}\0${s?.mtimeMs ?? -1}\n`);
  }
  return hash.digest('hex');
}

/** The compiled `bin/obs.ts` (a file URL), compiling it when one of its sources changed. */
async function compiledObs() {
  const last = existsSync(current) ? JSON.parse(readFileSync(current, 'utf8')) : undefined;
  if (last && stateOf(last.inputs) === last.state && existsSync(join(cache, last.dir, 'obs.js')))
    return pathToFileURL(join(cache, last.dir, 'obs.js')).href;
  mkdirSync(cache, { recursive: true });
  const dir = `obs-${process.pid}-${Date.now()}`;
  // esbuild as tsx has it: the compiler the rest of obs runs through.
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild');
  const started = Date.now();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [join(root, 'bin', 'obs.ts')],
      outdir: join(cache, dir),
      absWorkingDir: root,
      bundle: true,
      splitting: true, // each command's lazy import() stays a module of its own
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      metafile: true,
      logLevel: 'error',
    });
  } finally {
    await esbuild.stop();
  }
  const inputs = Object.keys(result.metafile.inputs);
  // A source modified while it compiled may be in it as it was: then the next start compiles again.
  const quiet = inputs.every((f) => statSync(join(root, f)).mtimeMs < started - 2_000);
  const state = quiet ? stateOf(inputs) : 'compile again';
  writeFileSync(`${current}.${process.pid}`, JSON.stringify({ dir, inputs, state }));
  renameSync(`${current}.${process.pid}`, current);
  // Older compilations go once no agent can still be starting from one (they load it all at start).
  for (const old of readdirSync(cache))
    if (
      old.startsWith('obs-') &&
      old !== dir &&
      (statSync(join(cache, old), { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < started - 600_000
    )
      rmSync(join(cache, old), { recursive: true, force: true });
  return pathToFileURL(join(cache, dir, 'obs.js')).href;
}

let compiled;
if (process.argv[2] === 'agent')
  try {
    compiled = await compiledObs();
  } catch (e) {
    process.stderr.write(`obs: running the agent through tsx (compiling it failed: ${e.message})\n`);
  }
if (compiled) await import(compiled);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./obs.ts');
}
