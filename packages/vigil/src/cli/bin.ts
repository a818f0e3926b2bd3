// Entry point of the `vigil` binary.
import { main } from './main.js';

await main();
