// Entry of the metric store's thread: runs the TypeScript sources directly, as bin/obs.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./store-worker.ts');
