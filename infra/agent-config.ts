/**
 * The sink agent's configuration as the stack writes it (instance metadata key
 * `vtap_archiver_config`, copied to /etc/vtap-archiver/config.json by cloud-init). Field names follow
 * agent/daemon/config.ts; test/infra checks a rendered copy against that schema.
 */
export const AGENT_HTTP_PORT = 9780;
export const AGENT_SPOOL_DIR = '/var/lib/vtap-archiver';
export const AGENT_CONFIG_PATH = '/etc/vtap-archiver/config.json';
export const AGENT_UNIT = 'vtap-archiver.service';

/** Instance metadata keys read by cloud-init/bootstrap.sh. */
export const METADATA = {
  role: 'vtap_archiver_role',
  config: 'vtap_archiver_config',
  kitUrl: 'vtap_archiver_kit_url',
  fileServer: 'vtap_archiver_file_server',
  demoFileMegabytes: 'vtap_archiver_demo_file_megabytes',
  sourceMtu: 'vtap_archiver_source_mtu',
  healthPort: 'vtap_archiver_health_port',
  encapsulationPorts: 'vtap_archiver_encapsulation_ports',
} as const;

export interface AgentConfigInputs {
  readonly namespace: string;
  readonly bucket: string;
  readonly region: string;
  readonly prefix: string;
  readonly decap: string;
  readonly compress: string;
  /** A list of numbers, or a Terraform expression that yields one. */
  readonly vxlanPorts: number[] | string;
  readonly spoolQuotaMegabytes: number;
  /** OCI Monitoring publishing (agent/daemon/monitoring.ts); `enabled` may be a Terraform boolean. */
  readonly monitoring: { readonly enabled: unknown; readonly compartmentId: string; readonly namespace: string; readonly region: string };
  /**
   * The capture filter's expiry sweep (agent/vtaps/filter-config.ts): the filter by its OCID (the
   * sinks' policy grants that, not VTAP reads); `expirySweep` may be a Terraform boolean.
   */
  readonly captureFilter: { readonly expirySweep: unknown; readonly filterId: string; readonly region: string };
}

/**
 * The JSON object given to Terraform's jsonencode(). `sink` is left out: the agent defaults it to
 * the host name, which is what a pool of identical instances needs.
 */
export function agentConfig(inputs: AgentConfigInputs): Record<string, unknown> {
  return {
    store: `oci://${inputs.namespace}/${inputs.bucket}?region=${inputs.region}&auth=instance-principal`,
    prefix: inputs.prefix,
    interface: 'auto',
    decap: inputs.decap,
    split: 'vni',
    compress: inputs.compress,
    vxlanPorts: inputs.vxlanPorts,
    http: { port: AGENT_HTTP_PORT },
    spool: { dir: AGENT_SPOOL_DIR, quotaMegabytes: inputs.spoolQuotaMegabytes, policy: 'evict-oldest' },
    monitoring: { ...inputs.monitoring },
    captureFilter: {
      auth: 'instance-principal',
      filterId: inputs.captureFilter.filterId,
      region: inputs.captureFilter.region,
      expirySweep: { enabled: inputs.captureFilter.expirySweep },
    },
  };
}
