/** What the route modules get from {@link createApi}: the hub's view, the metrics, the event fan-out. */
import type { HubView } from '../hub/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { EventFanout } from './events.js';

/** What the route modules get. */
export interface ApiContext {
  hub: HubView;
  metrics: Metrics | undefined;
  events: EventFanout;
}
