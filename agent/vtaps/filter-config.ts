/**
 * The agent's `captureFilter` config section (agent/daemon/config.ts includes it): where the
 * deployment's capture filter is, how to reach OCI from the sink, and the two optional services
 * built on it, both off by default: the expiry sweep and the HTTP filter endpoint.
 *
 *   "captureFilter": {
 *     "compartment": "ocid1.compartment...", "deployment": "vtap-archiver",
 *     "expirySweep": { "enabled": true, "intervalSeconds": 60 },
 *     "endpoint": { "enabled": true, "host": "127.0.0.1", "port": 9781, "tokenFile": "/etc/vtap-archiver/filter-token" }
 *   }
 */
import { z } from 'zod';

export const DEFAULT_FILTER_ENDPOINT_PORT = 9781;

export const captureFilterConfigSchema = z.strictObject({
  compartment: z.string().min(1).optional(),
  deployment: z.string().min(1).default('vtap-archiver'),
  /** The filter's OCID, instead of finding it through the deployment's VTAPs. */
  filterId: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  auth: z.enum(['instance-principal', 'config-file']).default('instance-principal'),
  configFile: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  /** Service endpoint override (tests against the stand-in). */
  apiEndpoint: z.string().url().optional(),
  /** Instance-principal overrides (tests against the stand-in): instance metadata base and federation endpoint. */
  metadataBaseUrl: z.string().url().optional(),
  federationEndpoint: z.string().url().optional(),
  expirySweep: z.strictObject({
    enabled: z.boolean().default(false),
    intervalSeconds: z.number().positive().default(60),
  }).prefault({}),
  endpoint: z.strictObject({
    enabled: z.boolean().default(false),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(DEFAULT_FILTER_ENDPOINT_PORT),
    /** File holding the bearer token (preferred: keeps it out of the config). */
    tokenFile: z.string().startsWith('/').optional(),
    token: z.string().min(16).optional(),
  }).prefault({}),
}).superRefine((config, context) => {
  const used = config.expirySweep.enabled || config.endpoint.enabled;
  if (used && !config.compartment && !config.filterId) {
    context.addIssue({ code: 'custom', path: ['compartment'], message: 'the expiry sweep and the filter endpoint need compartment (or filterId)' });
  }
  if (config.endpoint.enabled && !config.endpoint.token && !config.endpoint.tokenFile) {
    context.addIssue({ code: 'custom', path: ['endpoint', 'tokenFile'], message: 'the filter endpoint needs a token (tokenFile or token)' });
  }
});

export type CaptureFilterConfig = z.output<typeof captureFilterConfigSchema>;
