import { stringify } from 'yaml';
import { VARIABLE_GROUPS, VARIABLES, type VariableSpec } from '../variables.js';

/** Resource Manager's type for a Terraform type when no console picker applies. */
function rmType(spec: VariableSpec): Record<string, unknown> {
  if (spec.rmType) return { type: spec.rmType };
  if (spec.enum) return { type: 'enum', enum: [...spec.enum] };
  switch (spec.type) {
    case 'string': return { type: 'string' };
    case 'number': return { type: 'number' };
    case 'bool': return { type: 'boolean' };
    case 'list(string)': return { type: 'array', items: { type: 'string' } };
    case 'list(number)': return { type: 'array', items: { type: 'number' } };
  }
}

/**
 * Resource Manager's schema.yaml: one variable group per VARIABLE_GROUPS entry, in order, with the
 * same titles and descriptions the Terraform variables carry. Variables Resource Manager fills in
 * itself (tenancy) or that only matter on a laptop are in a hidden group.
 */
export function schemaYaml(version: string, specs: readonly VariableSpec[] = VARIABLES): string {
  const visible = specs.filter((spec) => !spec.hidden);
  const hidden = specs.filter((spec) => spec.hidden);
  const variableGroups = [
    ...VARIABLE_GROUPS.map((group) => ({
      title: group,
      variables: visible.filter((spec) => spec.group === group).map((spec) => spec.name),
    })).filter((group) => group.variables.length > 0),
    { title: 'Set by Resource Manager', visible: false, variables: hidden.map((spec) => spec.name) },
  ];
  const variables: Record<string, unknown> = {};
  for (const spec of specs) {
    variables[spec.name] = {
      ...rmType(spec),
      title: spec.title,
      description: spec.description,
      required: spec.default === undefined,
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}),
      ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
      ...(spec.sensitive ? { sensitive: true } : {}),
      ...(spec.hidden ? { visible: false } : {}),
      ...(spec.rm ?? {}),
    };
  }
  const document = {
    title: 'vtap-archiver',
    description: 'Archive VTAP-mirrored (VXLAN) traffic to Object Storage: VTAPs, a network load balancer, a pool of sink VMs running the vtap-archiver agent, and the bucket.',
    schemaVersion: '1.1.0',
    version,
    locale: 'en',
    variableGroups,
    variables,
    outputGroups: [{ title: 'Next steps', outputs: ['next_commands', 'nlb_private_ip', 'bucket', 'namespace', 'sink_pool_id', 'jump_host_public_ip', 'vtap_ids'] }],
    outputs: {
      next_commands: { type: 'copyableString', title: 'Commands to run next' },
      nlb_private_ip: { type: 'string', title: 'NLB private IP' },
      bucket: { type: 'string', title: 'Bucket' },
      namespace: { type: 'string', title: 'Object Storage namespace' },
      sink_pool_id: { type: 'ocid', title: 'Sink pool' },
      jump_host_public_ip: { type: 'string', title: 'Jump host public IP' },
      vtap_ids: { type: 'json', title: 'VTAPs by source' },
    },
  };
  return stringify(document, { lineWidth: 0 });
}
