/**
 * The hub's HTTP API: {@link createApi} builds it, {@link requireToken} guards mutating routes.
 */
export { type ApiOptions, createApi } from './app.js';
export { requireToken } from './auth.js';
export { DEFAULT_HEARTBEAT_MS, RETRY_MS } from './events.js';
export { DEFAULT_LIMIT, MAX_LIMIT } from './query.js';
