import { TerraformVariable, Token, type IResolvable } from 'cdktf';
import { CAPTURE_FILTER_PRESET_NAMES, CUSTOM_PRESET, MAX_CAPTURE_RULES } from './capture-filters.js';
import { Construct } from 'constructs';

/**
 * Every user-settable input, declared once: the stack turns each into a Terraform variable and
 * scripts/package-stack turns the same list into Resource Manager's schema.yaml, so the two can
 * never drift apart. Group order and titles are what the Resource Manager form shows.
 */
export type TfType = 'string' | 'number' | 'bool' | 'list(string)' | 'list(number)';

export interface VariableSpec {
  readonly name: string;
  readonly group: VariableGroup;
  readonly title: string;
  readonly description: string;
  readonly type: TfType;
  /** No default means the user must set it (Resource Manager marks it required). */
  readonly default?: string | number | boolean | readonly string[] | readonly number[];
  /** Resource Manager console type when it has a picker for it (compartment, SSH key, region, shape...). */
  readonly rmType?: string;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  /** Resource Manager fills these itself (tenancy, region, compartment) or they only matter on a laptop. */
  readonly hidden?: boolean;
  readonly sensitive?: boolean;
  /** Extra Resource Manager keys, e.g. dependsOn for a shape picker. */
  readonly rm?: Readonly<Record<string, unknown>>;
  readonly validation?: { readonly condition: string; readonly errorMessage: string };
}

export const VARIABLE_GROUPS = ['Placement', 'Network', 'Sinks', 'Archive', 'Mirroring', 'Alarms', 'Demo traffic'] as const;
export type VariableGroup = (typeof VARIABLE_GROUPS)[number];

/** Mirror everything both ways: a valid starting point (a filter needs at least one rule). */
export const DEFAULT_CUSTOM_RULES_JSON = '[{"direction": "INGRESS"}, {"direction": "EGRESS"}]';
/** Resource Manager's form check: a JSON list of at least one object (Terraform checks 1..10). */
export const CUSTOM_RULES_PATTERN = '^\\s*\\[\\s*\\{[\\s\\S]*\\}\\s*\\]\\s*$';

const flexShape = (name: string): string =>
  `Flex shapes only: ignored for fixed shapes (see ${name}).`;

export const VARIABLES: readonly VariableSpec[] = [
  // Placement
  { name: 'tenancy_ocid', group: 'Placement', title: 'Tenancy', description: 'OCID of the tenancy; the dynamic group and policy are created in it (home region).', type: 'string', hidden: true },
  { name: 'region', group: 'Placement', title: 'Region', description: 'Region to deploy into.', type: 'string', rmType: 'oci:identity:region:name' },
  { name: 'compartment_ocid', group: 'Placement', title: 'Compartment', description: 'Compartment for every resource of the stack.', type: 'string', rmType: 'oci:identity:compartment:id' },
  { name: 'oci_config_profile', group: 'Placement', title: 'OCI config profile', description: 'Profile of ~/.oci/config to use from a laptop; empty uses DEFAULT. Unused by Resource Manager.', type: 'string', default: '', hidden: true },
  { name: 'name_prefix', group: 'Placement', title: 'Name prefix', description: 'Prefix of display names, the dynamic group, the policy and the tag namespace (unique per tenancy).', type: 'string', default: 'vtap-archiver',
    validation: { condition: '${can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))}', errorMessage: 'name_prefix: 2-31 lower-case letters, digits or dashes, starting with a letter.' } },
  { name: 'availability_domain_number', group: 'Placement', title: 'Availability domain', description: 'Which availability domain (1, 2 or 3) the jump host and demo sources are placed in (the sink pool spreads over every availability domain).', type: 'number', default: 1, minimum: 1, maximum: 3 },
  { name: 'ssh_public_key', group: 'Placement', title: 'SSH public key', description: 'Public key for the opc user on every instance (reach sinks and sources through the jump host).', type: 'string', rmType: 'oci:core:ssh:publickey' },
  { name: 'oracle_linux_version', group: 'Placement', title: 'Oracle Linux version', description: 'Oracle Linux major version of the platform image (the newest image for each shape\'s architecture is used).', type: 'string', default: '9', enum: ['8', '9'] },

  // Network
  { name: 'vcn_cidr', group: 'Network', title: 'VCN CIDR', description: 'Address range of the VCN.', type: 'string', default: '10.0.0.0/16' },
  { name: 'public_subnet_cidr', group: 'Network', title: 'Public subnet CIDR', description: 'Subnet of the jump host / HTTP file server.', type: 'string', default: '10.0.0.0/24' },
  { name: 'sources_subnet_cidr', group: 'Network', title: 'Sources subnet CIDR', description: 'Private subnet of the demo sources.', type: 'string', default: '10.0.1.0/24' },
  { name: 'sinks_subnet_cidr', group: 'Network', title: 'Sinks subnet CIDR', description: 'Private subnet of the network load balancer and the sinks.', type: 'string', default: '10.0.2.0/24' },
  { name: 'ssh_source_cidr', group: 'Network', title: 'SSH allowed from', description: 'CIDR allowed to SSH to the jump host (your address, e.g. 203.0.113.7/32).', type: 'string' },
  { name: 'encapsulation_ports', group: 'Network', title: 'Encapsulation UDP ports', description: 'UDP ports admitted to the NLB and sinks and decapsulated as VXLAN (OCI VTAPs use 4789).', type: 'list(number)', default: [4789] },
  { name: 'create_jump_host', group: 'Network', title: 'Create jump host', description: 'Create the public jump host, which also serves the demo file over HTTP to the VCN.', type: 'bool', default: true },

  // Sinks
  { name: 'sink_shape', group: 'Sinks', title: 'Sink shape', description: 'Compute shape of the sinks.', type: 'string', default: 'VM.Standard.E5.Flex', rmType: 'oci:core:instanceshape:name', rm: { dependsOn: { compartmentId: '${compartment_ocid}' } } },
  { name: 'sink_ocpus', group: 'Sinks', title: 'Sink OCPUs', description: `OCPUs per sink. ${flexShape('sink_shape')}`, type: 'number', default: 2, minimum: 1, maximum: 64 },
  { name: 'sink_memory_gbs', group: 'Sinks', title: 'Sink memory (GB)', description: `Memory per sink. ${flexShape('sink_shape')}`, type: 'number', default: 16, minimum: 1, maximum: 1024 },
  { name: 'sink_boot_volume_gbs', group: 'Sinks', title: 'Sink boot volume (GB)', description: 'Boot volume size; the capture spool lives on it.', type: 'number', default: 100, minimum: 50, maximum: 32768 },
  { name: 'sink_count', group: 'Sinks', title: 'Sinks (initial)', description: 'Number of sinks the pool starts with.', type: 'number', default: 2, minimum: 1, maximum: 50 },
  { name: 'sink_count_min', group: 'Sinks', title: 'Sinks (minimum)', description: 'Fewest sinks when autoscaling.', type: 'number', default: 1, minimum: 1, maximum: 50, rm: { visible: '${sink_autoscaling}' } },
  { name: 'sink_count_max', group: 'Sinks', title: 'Sinks (maximum)', description: 'Most sinks when autoscaling.', type: 'number', default: 4, minimum: 1, maximum: 50, rm: { visible: '${sink_autoscaling}' } },
  { name: 'sink_autoscaling', group: 'Sinks', title: 'Autoscale on CPU', description: 'Scale the sink pool between minimum and maximum on CPU utilisation.', type: 'bool', default: false },
  { name: 'nlb_hashing_policy', group: 'Sinks', title: 'NLB hashing policy', description: 'How the NLB spreads mirrored packets over sinks. TWO_TUPLE keeps each mirrored source on one sink (VXLAN varies the outer source port per inner flow, so FIVE_TUPLE spreads one source over all sinks).', type: 'string', default: 'TWO_TUPLE', enum: ['TWO_TUPLE', 'THREE_TUPLE', 'FIVE_TUPLE'] },
  { name: 'kit_url_days', group: 'Sinks', title: 'Kit download link lifetime (days)', description: 'Lifetime of the read-only link instances download the agent kit from at boot; sinks launched after it expires (autoscaling) need a re-apply with a new kit or link.', type: 'number', default: 365, minimum: 1, maximum: 3650 },
  { name: 'spool_quota_megabytes', group: 'Sinks', title: 'Spool quota (MB)', description: 'Disk the agent may use for captures waiting to be uploaded (oldest evicted beyond it).', type: 'number', default: 40000, minimum: 100 },

  // Archive
  { name: 'bucket_name', group: 'Archive', title: 'Bucket name', description: 'Object Storage bucket the captures are archived to (created by the stack).', type: 'string', default: 'vtap-archiver-captures' },
  { name: 'capture_prefix', group: 'Archive', title: 'Object name prefix', description: 'Prefix of every archived object name.', type: 'string', default: 'captures/' },
  { name: 'decapsulation', group: 'Archive', title: 'Decapsulation', description: 'How the agent unwraps mirrored packets before archiving.', type: 'string', default: 'vxlan', enum: ['vxlan', 'auto', 'none'] },
  { name: 'compression', group: 'Archive', title: 'Compression', description: 'Codec of archived captures (.pcap.zst or .pcap.gz).', type: 'string', default: 'zstd', enum: ['zstd', 'gzip'] },
  { name: 'archive_after_days', group: 'Archive', title: 'Move to Archive tier after (days)', description: 'Lifecycle rule: move captures to the Archive tier after this many days (0 = never).', type: 'number', default: 30, minimum: 0 },
  { name: 'delete_after_days', group: 'Archive', title: 'Delete after (days)', description: 'Lifecycle rule: delete captures after this many days (0 = never). Must exceed the retention period.', type: 'number', default: 365, minimum: 0 },
  { name: 'retention_days', group: 'Archive', title: 'Retention (days)', description: 'Compliance retention rule: objects cannot be changed or deleted for this many days (0 = no rule).', type: 'number', default: 0, minimum: 0 },
  { name: 'retention_lock_time', group: 'Archive', title: 'Lock retention rule at', description: 'RFC 3339 time, at least 14 days ahead, when the retention rule locks (irreversible: then not even an administrator can shorten it or delete objects early). Empty = never locked.', type: 'string', default: '', rm: { visible: { gt: ['${retention_days}', 0] } } },
  { name: 'kms_key_id', group: 'Archive', title: 'Customer KMS key', description: 'OCID of a Vault master key to encrypt the bucket with (empty = Oracle-managed keys).', type: 'string', default: '' },
  { name: 'kms_key_compartment_ocid', group: 'Archive', title: 'Compartment of the KMS key', description: 'Compartment the key lives in: the policy letting Object Storage use the key is attached there. Empty = the tenancy (root compartment), which can name any key.', type: 'string', default: '', rmType: 'oci:identity:compartment:id',
    rm: { required: false, visible: { not: [{ eq: ['${kms_key_id}', ''] }] } } },

  // Mirroring
  { name: 'mirrored_vnic_ids', group: 'Mirroring', title: 'Existing VNICs to mirror', description: 'OCIDs of existing VNICs in this VCN to mirror, one VTAP each (a VNIC can be the source of one VTAP only).', type: 'list(string)', default: [] },
  { name: 'vni_base', group: 'Mirroring', title: 'First VNI', description: 'VXLAN network identifier of the first VTAP; each further VTAP gets the next one, so archives split by source.', type: 'number', default: 1000, minimum: 1, maximum: 16777000 },
  { name: 'capture_filter_preset', group: 'Mirroring', title: 'Capture filter', description: 'Which traffic the VTAPs mirror: all of it, the quick start\'s HTTP demo rules (TCP port 80 either way), or custom rules (below).', type: 'string', default: 'all', enum: CAPTURE_FILTER_PRESET_NAMES },
  { name: 'capture_filter_rules_json', group: 'Mirroring', title: 'Custom capture rules (JSON)', description: `Rules of the custom capture filter, first match wins, 1 to ${MAX_CAPTURE_RULES} (an OCI capture filter holds 1..${MAX_CAPTURE_RULES}): a JSON list of {"direction": "INGRESS"|"EGRESS", "action": "INCLUDE"|"EXCLUDE", "protocol": "6"|"17"|"1", "sourceCidr", "destinationCidr", "tcpDestinationPort", "tcpSourcePort", "udpDestinationPort", "udpSourcePort"}; only direction is required. The default mirrors everything both ways.`, type: 'string', default: DEFAULT_CUSTOM_RULES_JSON,
    rm: { type: 'text', multiline: true, pattern: CUSTOM_RULES_PATTERN, visible: { eq: ['${capture_filter_preset}', CUSTOM_PRESET] } },
    validation: { condition: `\${can(length(jsondecode(var.capture_filter_rules_json))) && try(length(jsondecode(var.capture_filter_rules_json)) >= 1 && length(jsondecode(var.capture_filter_rules_json)) <= ${MAX_CAPTURE_RULES}, false)}`, errorMessage: `capture_filter_rules_json must be a JSON list of 1 to ${MAX_CAPTURE_RULES} rules (a capture filter holds 1..${MAX_CAPTURE_RULES}).` } },
  { name: 'capture_filter_expiry', group: 'Mirroring', title: 'Sinks remove expired capture rules', description: 'The sinks\' agent removes rules added with `vtap-archiver filter add --for` once their time is up, even when nobody runs `vtap-archiver filter` again. Adds to the sinks\' policy: read and update of capture filters in this compartment (CAPTURE_FILTER_READ and CAPTURE_FILTER_UPDATE only).', type: 'bool', default: false },
  { name: 'vtap_max_packet_size', group: 'Mirroring', title: 'Max mirrored packet size', description: 'Bytes of each original packet mirrored (64-9000); longer packets are truncated.', type: 'number', default: 9000, minimum: 64, maximum: 9000 },
  { name: 'vtap_traffic_mode', group: 'Mirroring', title: 'VTAP traffic mode', description: 'PRIORITY keeps mirroring under congestion at the cost of the source\'s bandwidth; DEFAULT drops mirrored traffic first.', type: 'string', default: 'DEFAULT', enum: ['DEFAULT', 'PRIORITY'] },
  { name: 'mirror_source_cidrs', group: 'Mirroring', title: 'Mirror sources without a VTAP', description: 'CIDRs of hosts that mirror themselves with `vtap-archiver mirror` (other clouds, on premises): admitted to the NLB and the sinks on the encapsulation ports. Give each host its own VNI.', type: 'list(string)', default: [],
    validation: { condition: '${alltrue([for cidr in var.mirror_source_cidrs : can(cidrhost(cidr, 0))])}', errorMessage: 'mirror_source_cidrs must be CIDR blocks such as 192.0.2.0/24.' } },
  { name: 'start_vtaps', group: 'Mirroring', title: 'Create VTAPs running', description: 'Whether a VTAP mirrors from its creation. Off by default: the sinks should be healthy before traffic arrives (and a public lab saw OCI refuse a VTAP created running). After creation the running state belongs to `vtap-archiver vtaps start|stop` (or the console / `oci network vtap update --is-vtap-enabled`): Terraform ignores it, so an apply never stops mirroring.', type: 'bool', default: false },

  // Alarms
  { name: 'alarm_email', group: 'Alarms', title: 'Alarm e-mail', description: 'E-mail address subscribed to the alarm topic (OCI sends a confirmation mail first). With an e-mail or a topic, the alarms are on unless create_alarms is off.', type: 'string', default: '' },
  { name: 'alarm_topic_id', group: 'Alarms', title: 'Existing notification topic', description: 'OCID of an existing Notifications topic to send alarms to (PagerDuty, Slack, ... subscriptions); empty = the stack creates one.', type: 'string', default: '' },
  { name: 'create_alarms', group: 'Alarms', title: 'Create alarms', description: 'Monitoring alarms on NLB backend health, sink CPU, VNIC connection tracking and the agent\'s own figures. Only take effect when an e-mail or a topic is given.', type: 'bool', default: true },
  { name: 'agent_metrics', group: 'Alarms', title: 'Agent publishes to OCI Monitoring', description: `Sinks post their key figures (kernel drops, packets and bytes archived per source, upload backlog, evictions, seconds since the last upload) to OCI Monitoring under the namespace ${'`vtap_archiver`'}; the policy grants 'use metrics' for that namespace only.`, type: 'bool', default: true },
  { name: 'alarm_upload_age_minutes', group: 'Alarms', title: 'Upload age alarm (minutes)', description: 'Alarm when a sink has had no successful upload for this long.', type: 'number', default: 30, minimum: 5, maximum: 1440 },
  { name: 'alarm_sink_cpu_percent', group: 'Alarms', title: 'Sink CPU alarm (%)', description: 'Alarm when a sink\'s CPU stays above this for 5 minutes (a saturated sink drops packets).', type: 'number', default: 85, minimum: 10, maximum: 100 },

  // Demo traffic
  { name: 'demo_source_count', group: 'Demo traffic', title: 'Demo sources', description: 'Instances that fetch a file from the jump host over and over so there is traffic to mirror (0 for production).', type: 'number', default: 1, minimum: 0, maximum: 10 },
  { name: 'demo_shape', group: 'Demo traffic', title: 'Demo and jump host shape', description: 'Shape of the demo sources and the jump host.', type: 'string', default: 'VM.Standard.E5.Flex', rmType: 'oci:core:instanceshape:name', rm: { dependsOn: { compartmentId: '${compartment_ocid}' } } },
  { name: 'demo_ocpus', group: 'Demo traffic', title: 'Demo OCPUs', description: `OCPUs of the demo sources and jump host. ${flexShape('demo_shape')}`, type: 'number', default: 1, minimum: 1, maximum: 64 },
  { name: 'demo_memory_gbs', group: 'Demo traffic', title: 'Demo memory (GB)', description: `Memory of the demo sources and jump host. ${flexShape('demo_shape')}`, type: 'number', default: 8, minimum: 1, maximum: 1024 },
  { name: 'demo_file_megabytes', group: 'Demo traffic', title: 'Demo file size (MB)', description: 'Size of the dummy file the sources download.', type: 'number', default: 16, minimum: 1, maximum: 1024, rm: { visible: { gt: ['${demo_source_count}', 0] } } },
  { name: 'source_mtu', group: 'Demo traffic', title: 'Source MTU', description: 'MTU set on the demo sources; at most 8950 so mirrored packets plus VXLAN headers fit the 9000-byte target MTU.', type: 'number', default: 8950, minimum: 576, maximum: 8950,
    validation: { condition: '${var.source_mtu >= 576 && var.source_mtu <= 8950}', errorMessage: 'source_mtu must be 576..8950 (VXLAN adds 50 bytes to a 9000-byte target MTU).' } },
];

/** The Terraform variables of a stack, by name; created directly in the stack so names stay exact. */
export class Variables extends Construct {
  private readonly byName = new Map<string, TerraformVariable>();

  constructor(scope: Construct, id: string, specs: readonly VariableSpec[] = VARIABLES) {
    super(scope, id);
    for (const spec of specs) {
      const variable = new TerraformVariable(this, spec.name, {
        type: spec.type,
        description: spec.description,
        ...(spec.default === undefined ? {} : { default: spec.default }),
        ...(spec.sensitive ? { sensitive: true } : {}),
        nullable: false,
        ...(spec.validation
          ? { validation: [{ condition: spec.validation.condition, errorMessage: spec.validation.errorMessage }] }
          : {}),
      });
      variable.overrideLogicalId(spec.name);
      this.byName.set(spec.name, variable);
    }
  }

  private get(name: string): TerraformVariable {
    const variable = this.byName.get(name);
    if (!variable) throw new Error(`unknown variable ${name}`);
    return variable;
  }

  string(name: string): string {
    return this.get(name).stringValue;
  }

  number(name: string): number {
    return this.get(name).numberValue;
  }

  bool(name: string): IResolvable {
    return this.get(name).booleanValue;
  }

  list(name: string): string[] {
    return this.get(name).listValue;
  }

  numberList(name: string): number[] {
    return Token.asNumberList(this.get(name).value);
  }

  /** `var.<name>` for hand-written Terraform expressions. */
  ref(name: string): string {
    this.get(name);
    return `var.${name}`;
  }
}
