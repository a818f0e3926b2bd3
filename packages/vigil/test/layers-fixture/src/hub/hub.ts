import { storeName } from '../store/store.js';

export const hubName = `hub over ${storeName}`;
