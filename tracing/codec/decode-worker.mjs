// Entry of a span-decoding worker thread: runs the TypeScript sources directly, as bin/obs.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
