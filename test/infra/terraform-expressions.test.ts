import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { byPath, only, synthesize, type TerraformJson } from './helpers.js';

/**
 * The stack's hand-written Terraform expressions, evaluated by a real Terraform (when this machine
 * has one). The oracle/oci provider cannot be installed offline, so `terraform plan` of the whole
 * stack is impossible; instead the expressions are lifted out of the synthesized JSON into a
 * provider-free configuration (variables as synthesized, resource references replaced by
 * variables), where `terraform plan` runs the variable validations and `terraform console`
 * evaluates the expressions, dynamic blocks included.
 */
const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } });
const available = terraform.status === 0;
if (!available) console.warn('terraform-expressions: no terraform on PATH, these checks are skipped');

const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1', NO_COLOR: '1', CHECKPOINT_DISABLE: '1' };
const REQUIRED = {
  tenancy_ocid: 'ocid1.tenancy.oc1..t', region: 'eu-frankfurt-1', compartment_ocid: 'ocid1.compartment.oc1..c',
  ssh_public_key: 'ssh-ed25519 AAAA test', ssh_source_cidr: '203.0.113.7/32',
};

let config: TerraformJson;
let dir: string;

/** "${EXPR}" -> EXPR; other JSON values -> HCL literals. */
function expression(value: unknown): string {
  if (typeof value === 'string') {
    const whole = /^\$\{([\s\S]*)\}$/.exec(value);
    return whole ? whole[1]! : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/**
 * A dynamic block as an HCL for-expression yielding the list of block bodies Terraform would
 * generate: `<name>.value` becomes the loop variable, nested dynamic blocks become list attributes.
 */
function dynamicAsList(name: string, spec: { for_each: string; content: Record<string, unknown> }): string {
  const body = objectExpression(spec.content);
  return `[for ${name}_value in ${expression(spec.for_each)} : ${body.replaceAll(`${name}.value`, `${name}_value`)}]`;
}

function objectExpression(content: Record<string, unknown>): string {
  const fields = Object.entries(content).flatMap(([key, value]) => {
    if (key === 'dynamic') {
      return Object.entries(value as Record<string, any>).map(([block, spec]) => `${block} = ${dynamicAsList(block, spec)}`);
    }
    if (Array.isArray(value)) return [`${key} = [${value.map((v) => (typeof v === 'object' ? objectExpression(v) : expression(v))).join(', ')}]`];
    return [`${key} = ${expression(value)}`];
  });
  return `{ ${fields.join(', ')} }`;
}

function writeConfig(locals: Record<string, string>, vars: Record<string, unknown>): void {
  writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ variable: { ...config.variable, test_demo_vnics: { type: 'list(string)', default: [] }, test_group: { type: 'string', default: 'grp' } }, locals }));
  writeFileSync(join(dir, 'test.tfvars.json'), JSON.stringify({ ...REQUIRED, ...vars }));
}

/** Evaluates the expressions with terraform console (one call: it reads a single expression from stdin). */
function evaluate(expressions: string[]): unknown[] {
  const result = spawnSync('terraform', ['console', '-var-file=test.tfvars.json'], { cwd: dir, env, input: `jsonencode([${expressions.join(', ')}])\n`, encoding: 'utf8' });
  // eslint-disable-next-line no-control-regex -- console colours some lines even in automation
  const line = result.stdout.replace(/\u001b\[[0-9;]*m/g, '').split('\n').find((l) => l.startsWith('"'));
  // An expression Terraform rejects prints an error instead of a value: show it.
  expect(line, `${result.stdout}${result.stderr}`).toBeDefined();
  return JSON.parse(JSON.parse(line!) as string) as unknown[];
}

function plan(vars: Record<string, unknown>): { status: number | null; output: string } {
  writeConfig({}, vars);
  const result = spawnSync('terraform', ['plan', '-input=false', '-var-file=test.tfvars.json'], { cwd: dir, env, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.replace(/\s+/g, ' ') };
}

describe.runIf(available)('Terraform expressions of the stack, evaluated by terraform', () => {
  beforeAll(async () => {
    config = (await synthesize()).config;
    dir = mkdtempSync(join(tmpdir(), 'vtap-tf-expr-'));
    writeConfig({}, {});
    // No provider in this configuration: init needs no registry.
    execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, env, encoding: 'utf8' });
  }, 120_000);

  it('accepts the defaults and rejects bad values through the variable validations', () => {
    expect(plan({}).status).toBe(0);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name_prefix: 'Bad_Prefix' }, 'name_prefix: 2-31 lower-case letters'],
      [{ source_mtu: 9000 }, 'source_mtu must be 576..8950'],
      [{ capture_filter_rules_json: 'not json' }, 'capture_filter_rules_json must be a JSON list'],
      [{ capture_filter_rules_json: JSON.stringify(Array.from({ length: 11 }, () => ({ direction: 'INGRESS' }))) }, 'must be a JSON list of 1 to 10 rules'],
      // A capture filter holds at least one rule: an empty list would make one OCI refuses.
      [{ capture_filter_rules_json: '[]' }, 'must be a JSON list of 1 to 10 rules'],
    ];
    for (const [vars, message] of cases) {
      const result = plan(vars);
      expect(result.status, JSON.stringify(vars)).not.toBe(0);
      expect(result.output).toContain(message);
    }
    expect(plan({ capture_filter_rules_json: '[{"direction":"EGRESS"}]', source_mtu: 8950 }).status).toBe(0);
  });

  it('numbers VTAP sources with distinct VNIs: demo sources from vni_base, listed VNICs from vni_base + 10', () => {
    const sources = config.locals.vtap_sources!.replace(/\[for a in data\.oci_core_vnic_attachments\.[\w-]+ : a\.vnic_attachments\[0\]\.vnic_id\]/, 'var.test_demo_vnics');
    writeConfig({ vtap_sources: sources }, { test_demo_vnics: ['vnic-d0', 'vnic-d1'], mirrored_vnic_ids: ['vnic-x0', 'vnic-x1'], vni_base: 5000 });
    const [value] = evaluate(['local.vtap_sources']);
    expect(value).toEqual({
      'demo-0': { key: 'demo-0', vnic: 'vnic-d0', vni: 5000 },
      'demo-1': { key: 'demo-1', vnic: 'vnic-d1', vni: 5001 },
      'vnic-0': { key: 'vnic-0', vnic: 'vnic-x0', vni: 5010 },
      'vnic-1': { key: 'vnic-1', vnic: 'vnic-x1', vni: 5011 },
    });
  });

  it('turns custom capture rules JSON into the capture filter blocks OCI expects', () => {
    const custom = Object.values(config.resource.oci_core_capture_filter!).find((f) => f.count.includes('"custom"'));
    const rules = [
      { direction: 'INGRESS', protocol: '17', udpDestinationPort: 53 },
      { direction: 'EGRESS' },
      { direction: 'INGRESS', action: 'EXCLUDE', protocol: '6', tcpSourcePort: 22, sourceCidr: '10.0.0.0/16' },
    ];
    writeConfig({ blocks: `\${${dynamicAsList('vtap_capture_filter_rules', custom.dynamic.vtap_capture_filter_rules)}}` }, { capture_filter_rules_json: JSON.stringify(rules) });
    const [blocks] = evaluate(['local.blocks']);
    const any = '0.0.0.0/0';
    expect(blocks).toEqual([
      { traffic_direction: 'INGRESS', rule_action: 'INCLUDE', protocol: '17', source_cidr: any, destination_cidr: any, tcp_options: [],
        udp_options: [{ destination_port_range: [{ min: 53, max: 53 }], source_port_range: [] }] },
      { traffic_direction: 'EGRESS', rule_action: 'INCLUDE', protocol: null, source_cidr: any, destination_cidr: any, tcp_options: [], udp_options: [] },
      { traffic_direction: 'INGRESS', rule_action: 'EXCLUDE', protocol: '6', source_cidr: '10.0.0.0/16', destination_cidr: any,
        tcp_options: [{ destination_port_range: [], source_port_range: [{ min: 22, max: 22 }] }], udp_options: [] },
    ]);
  });

  it('adds a retention rule only when retention_days > 0, and a shape_config only for flex shapes', () => {
    const bucket = byPath(config, 'oci_objectstorage_bucket').get('storage_bucket');
    const launch = only(config, 'oci_core_instance_configuration').instance_details.launch_details;
    writeConfig({
      retention: `\${${dynamicAsList('retention_rules', bucket.dynamic.retention_rules)}}`,
      shape: `\${${dynamicAsList('shape_config', launch.dynamic.shape_config)}}`,
    }, { retention_days: 30, sink_shape: 'VM.Standard.E5.Flex', sink_ocpus: 4 });
    expect(evaluate(['local.retention', 'local.shape'])).toEqual([
      [{ display_name: 'vtap-archiver-compliance', duration: [{ time_amount: 30, time_unit: 'DAYS' }], time_rule_locked: null }],
      [{ ocpus: 4, memory_in_gbs: 16 }],
    ]);
    writeConfig({
      retention: `\${${dynamicAsList('retention_rules', bucket.dynamic.retention_rules)}}`,
      shape: `\${${dynamicAsList('shape_config', launch.dynamic.shape_config)}}`,
    }, { sink_shape: 'VM.Standard2.4' });
    expect(evaluate(['local.retention', 'local.shape'])).toEqual([[], []]);
  });

  it('writes the policy statements with the bucket variable and group name, and the metrics statement only with agent_metrics', () => {
    const statements = (byPath(config, 'oci_identity_policy').get('iam_policy').statements as string)
      .replace(/oci_identity_dynamic_group\.[\w-]+\.name/g, 'var.test_group');
    writeConfig({ statements }, { bucket_name: 'caps', agent_metrics: false });
    const [without] = evaluate(['local.statements']) as [string[]];
    expect(without).toEqual([
      "Allow dynamic-group grp to manage objects in compartment id ocid1.compartment.oc1..c where all {target.bucket.name = 'caps', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_INSPECT'}}",
      "Allow dynamic-group grp to manage objects in compartment id ocid1.compartment.oc1..c where all {target.bucket.name = 'caps', request.permission = 'OBJECT_OVERWRITE', any {request.operation = 'CreateMultipartUpload', request.operation = 'UploadPart', request.operation = 'CommitMultipartUpload'}}",
      "Allow service objectstorage-eu-frankfurt-1 to manage object-family in compartment id ocid1.compartment.oc1..c where target.bucket.name = 'caps'",
    ]);
    writeConfig({ statements }, { bucket_name: 'caps' });
    const [withMetrics] = evaluate(['local.statements']) as [string[]];
    expect(withMetrics.slice(3)).toEqual(["Allow dynamic-group grp to use metrics in compartment id ocid1.compartment.oc1..c where target.metrics.namespace = 'vtap_archiver'"]);
  });

  it('grants the customer key in the key\'s compartment, or in the tenancy when none is named', () => {
    const kms = byPath(config, 'oci_identity_policy').get('iam_kms-policy');
    writeConfig({ statements: kms.statements[0], compartment: kms.compartment_id, count: kms.count },
      { kms_key_id: 'ocid1.key.oc1..k' });
    expect(evaluate(['local.statements', 'local.compartment', 'local.count'])).toEqual([
      "Allow service objectstorage-eu-frankfurt-1 to use keys in tenancy where target.key.id = 'ocid1.key.oc1..k'", 'ocid1.tenancy.oc1..t', 1,
    ]);
    writeConfig({ statements: kms.statements[0], compartment: kms.compartment_id, count: kms.count },
      { kms_key_id: 'ocid1.key.oc1..k', kms_key_compartment_ocid: 'ocid1.compartment.oc1..keys' });
    expect(evaluate(['local.statements', 'local.compartment', 'local.count'])).toEqual([
      "Allow service objectstorage-eu-frankfurt-1 to use keys in compartment id ocid1.compartment.oc1..keys where target.key.id = 'ocid1.key.oc1..k'", 'ocid1.compartment.oc1..keys', 1,
    ]);
    writeConfig({ count: kms.count }, {});
    expect(evaluate(['local.count'])).toEqual([0]);
  });
});
