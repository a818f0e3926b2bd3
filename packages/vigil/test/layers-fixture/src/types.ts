// A deliberate back-edge: the ground imports the hub above it. `npm run lint` must reject this tree.
import { hubName } from './hub/hub.js';

export const groundName = `ground under ${hubName}`;
