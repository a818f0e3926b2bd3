/**
 * Vigil: automated health checks for ML model endpoints.
 *
 * The probe engine, hub, alerting and dashboard land here issue by issue; see DESIGN.md in the
 * repository for the architecture.
 */
export const VERSION = '0.1.0';
