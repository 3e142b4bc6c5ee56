export { OciStandin, startStandin, type LoggedRequest, type StandinOptions } from './server.js';
export { makeApiKey, makeInstanceIdentity, type ApiKey, type InstanceIdentity } from './credentials.js';
export type { FaultAction, FaultRule } from './faults.js';
