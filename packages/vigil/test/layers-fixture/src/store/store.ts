// A deliberate cycle: store → ground → hub → store.
import { groundName } from '../types.js';

export const storeName = 'store';
export const describe = () => groundName;
