/** The one pool of this process, shared by the executions engine and the pool's own API. */
import { PoolManager } from './manager.js';

export const pool = new PoolManager();
