export { registerFleetPage, type FleetNode, type FleetSource } from './fleet-page.js';
export { GatewayTally, type GatewayFigures } from './gateway-tally.js';
