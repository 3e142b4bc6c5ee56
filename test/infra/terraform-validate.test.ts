import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../agent/daemon/config.js';
import { schemaProviderEnv, terraformAvailable, terraformValidate, validateErrors, type ValidateResult } from '../../testkit/schema-provider/terraform.js';
import { ROOT } from './helpers.js';

/**
 * The real `terraform validate` and `terraform plan` on the Resource Manager zip, offline: the
 * oracle/oci provider is replaced (CLI dev_overrides) by testkit/schema-provider, which serves
 * the committed provider schema over the plugin protocol, accepts every configuration, reads data
 * sources as placeholders and plans computed attributes as unknown. Terraform itself then checks
 * argument names, types, required arguments, block counts and every reference to a resource
 * attribute, and plan evaluates every expression, count and for_each of the stack.
 */
const available = terraformAvailable();
if (!available) console.warn('terraform-validate: no terraform on PATH, these checks are skipped');

let work: string;
let stackDir: string;
let original: string;
let env: NodeJS.ProcessEnv;

function validate(config: unknown = JSON.parse(original)): ValidateResult {
  writeFileSync(join(stackDir, 'main.tf.json'), JSON.stringify(config, null, 2));
  return terraformValidate(stackDir, env);
}
const errors = validateErrors;

describe.runIf(available)('terraform validate and plan of the stack zip against the oracle/oci 8.28.0 schema', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'vtap-tf-validate-'));
    const zip = join(work, 'stack.zip');
    execFileSync(process.execPath, [join(ROOT, 'scripts/package-stack.mjs'), 'package', zip], { cwd: ROOT, stdio: 'pipe' });
    stackDir = join(work, 'stack');
    mkdirSync(stackDir);
    execFileSync('unzip', ['-q', zip, '-d', stackDir]);
    original = readFileSync(join(stackDir, 'main.tf.json'), 'utf8');

    env = schemaProviderEnv(ROOT, work);
  }, 180_000);

  it('is valid', () => {
    const result = validate();
    expect(errors(result)).toEqual([]);
    expect(result.valid).toBe(true);
    // The override is in effect: the schema came from our provider, not from nowhere.
    expect(result.diagnostics.map((d) => d.summary)).toContain('Provider development overrides are in effect');
    // Both providers come from our schema-only provider: oracle/oci and hashicorp/time (time_sleep).
    const overrides = result.diagnostics.find((d) => d.summary === 'Provider development overrides are in effect')!.detail;
    expect(overrides).toContain('oracle/oci');
    expect(overrides).toContain('hashicorp/time');
  }, 120_000);

  it('is valid as unzipped: versions.tf holds the only terraform block (a second required_providers is refused)', () => {
    expect(readFileSync(join(stackDir, 'versions.tf'), 'utf8')).toContain('required_providers');
    const config = JSON.parse(original);
    config.terraform = { required_providers: { oci: { source: 'registry.terraform.io/oracle/oci', version: '8.28.0' } } };
    const result = validate(config);
    expect(result.valid).toBe(false);
    expect(errors(result)).toEqual([expect.stringMatching(/^Duplicate required providers configuration/)]);
  }, 120_000);

  it('checks time_sleep against the time provider\'s schema', () => {
    const config = JSON.parse(original);
    const sleep = Object.values<any>(config.resource.time_sleep)[0];
    sleep.create_durration = sleep.create_duration;
    delete sleep.create_duration;
    const result = validate(config);
    expect(errors(result)).toEqual(['Extraneous JSON object property: No argument or block type is named "create_durration". Did you mean "create_duration"?']);
  }, 120_000);

  it('rejects a misspelled argument, as terraform would with the real provider', () => {
    const config = JSON.parse(original);
    const vcn = Object.values<any>(config.resource.oci_core_vcn)[0];
    vcn.dispaly_name = vcn.display_name;
    delete vcn.display_name;
    const result = validate(config);
    expect(result.valid).toBe(false);
    expect(errors(result)).toEqual(['Extraneous JSON object property: No argument or block type is named "dispaly_name". Did you mean "display_name"?']);
  }, 120_000);

  it('rejects a wrong type and a reference to an attribute the resource does not have', () => {
    const config = JSON.parse(original);
    Object.values<any>(config.resource.oci_network_load_balancer_backend_set)[0].health_checker.port = 'ninety';
    config.output.nlb_private_ip.value = config.output.nlb_private_ip.value.replace('.ip_address}', '.ip_adress}');
    const result = validate(config);
    expect(result.valid).toBe(false);
    expect(errors(result).sort()).toEqual([
      'Incorrect attribute value type: Inappropriate value for attribute "port": a number is required.',
      'Unsupported attribute: This object does not have an attribute named "ip_adress".',
    ]);
  }, 120_000);

  const REQUIRED = {
    tenancy_ocid: 'ocid1.tenancy.oc1..t', region: 'eu-frankfurt-1', compartment_ocid: 'ocid1.compartment.oc1..c',
    ssh_public_key: 'ssh-ed25519 AAAA test', ssh_source_cidr: '203.0.113.7/32',
  };

  /** Plans with these variables; returns the planned resources by address (`terraform show -json`). */
  function plan(vars: Record<string, unknown>): Map<string, { type: string; after: any; unknown: any }> {
    writeFileSync(join(stackDir, 'main.tf.json'), original);
    writeFileSync(join(stackDir, 'test.tfvars.json'), JSON.stringify({ ...REQUIRED, ...vars }));
    const run = spawnSync('terraform', ['plan', '-input=false', '-no-color', '-var-file=test.tfvars.json', '-out=plan.bin'], { cwd: stackDir, env, encoding: 'utf8', timeout: 240_000 });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    const shown = JSON.parse(execFileSync('terraform', ['show', '-json', 'plan.bin'], { cwd: stackDir, env, encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      resource_changes: Array<{ address: string; type: string; mode: string; change: { actions: string[]; after: any; after_unknown: any } }>;
    };
    return new Map(shown.resource_changes.filter((r) => r.mode === 'managed').map((r) => {
      expect(r.change.actions, r.address).toEqual(['create']);
      return [r.address, { type: r.type, after: r.change.after, unknown: r.change.after_unknown }];
    }));
  }
  const ofType = (planned: Map<string, { type: string; after: any; unknown: any }>, type: string) =>
    [...planned].filter(([, r]) => r.type === type).map(([address, r]) => ({ address, ...r }));

  it('plans the default deployment: stopped VTAPs with per-source VNIs, one filter, the agent config once that filter exists', () => {
    const planned = plan({ mirrored_vnic_ids: ['ocid1.vnic.oc1..existing'] });
    const vtaps = ofType(planned, 'oci_core_vtap');
    expect(vtaps.map((v) => [v.address.replace(/^.*\[/, '['), v.after.vxlan_network_identifier, v.after.is_vtap_enabled])).toEqual([
      ['["demo-0"]', '1000', false], ['["vnic-0"]', '1010', false],
    ]);
    expect(ofType(planned, 'oci_core_capture_filter').map((f) => f.after.display_name)).toEqual(['vtap-archiver-all']);
    expect(ofType(planned, 'oci_objectstorage_bucket').map((b) => b.after.name).sort()).toEqual(['vtap-archiver-captures', 'vtap-archiver-captures-kit']);
    expect(ofType(planned, 'oci_autoscaling_auto_scaling_configuration')).toEqual([]);
    expect(ofType(planned, 'oci_core_instance')).toHaveLength(2); // jump host + one demo source

    const configuration = ofType(planned, 'oci_core_instance_configuration')[0]!;
    const launch = configuration.after.instance_details[0].launch_details[0];
    expect(launch.defined_tags).toEqual({ 'vtap-archiver.role': 'sink' });
    expect(launch.shape_config).toEqual([expect.objectContaining({ ocpus: 2, memory_in_gbs: 16 })]);
    // The agent config names the capture filter by its OCID (captureFilter.filterId), so it is
    // known once the filter exists, not at plan: test/infra/stack.test.ts and
    // mirror-and-filter-infra.test.ts check what it renders to and that the agent's schema takes it.
    expect(launch.metadata.vtap_archiver_config).toBeUndefined();
    expect(configuration.unknown.instance_details[0].launch_details[0].metadata.vtap_archiver_config).toBe(true);
    expect(launch.metadata.vtap_archiver_encapsulation_ports).toBe('4789');

    const policies = ofType(planned, 'oci_identity_policy');
    expect(policies).toHaveLength(1); // no key: no key grant
    const policy = policies[0]!.after;
    expect(policy.statements).toHaveLength(4);
    expect(policy.statements[0]).toBe("Allow dynamic-group vtap-archiver-sinks to manage objects in compartment id ocid1.compartment.oc1..c where all {target.bucket.name = 'vtap-archiver-captures', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_INSPECT'}}");
    expect(policy.statements[3]).toBe("Allow dynamic-group vtap-archiver-sinks to use metrics in compartment id ocid1.compartment.oc1..c where target.metrics.namespace = 'vtap_archiver'");

    // Waits: tags and the sinks' policy, not the (absent) key grant.
    expect(ofType(planned, 'time_sleep').map((t) => [t.address.replace(/_[0-9A-F]{8}$/, ''), t.after.create_duration]).sort()).toEqual([
      ['time_sleep.iam_policy-propagation', '60s'], ['time_sleep.iam_tag-propagation', '90s'],
    ]);
    // One pool (no autoscaling), one placement per availability domain (the stand-in reads one AD);
    // no alarms without an e-mail or topic.
    const pools = ofType(planned, 'oci_core_instance_pool');
    expect(pools.map((p) => p.address)).toEqual([expect.stringMatching(/sinks_pool_[0-9A-F]+\[0\]$/)]);
    expect(pools[0]!.after.placement_configurations).toEqual([expect.objectContaining({ availability_domain: 'placeholder' })]);
    expect(ofType(planned, 'oci_monitoring_alarm')).toEqual([]);
    expect(ofType(planned, 'oci_ons_notification_topic')).toEqual([]);
    const [listener] = ofType(planned, 'oci_network_load_balancer_listener');
    expect(listener!.after.udp_idle_timeout).toBe(120);
    expect(ofType(planned, 'oci_network_load_balancer_backend_set')[0]!.after.is_instant_failover_enabled).toBe(true);
  }, 300_000);

  it('plans a production variant: no demo, running VTAPs, autoscaling, custom rules, a fixed shape, the sinks\' expiry sweep', () => {
    const planned = plan({
      capture_filter_expiry: true, demo_source_count: 0, mirrored_vnic_ids: ['ocid1.vnic.oc1..a', 'ocid1.vnic.oc1..b'], start_vtaps: true, sink_autoscaling: true,
      capture_filter_preset: 'custom', capture_filter_rules_json: JSON.stringify([{ direction: 'INGRESS', protocol: '17', udpDestinationPort: 53 }]),
      sink_shape: 'VM.Standard2.4', kms_key_id: 'ocid1.key.oc1..k', retention_days: 30, delete_after_days: 400,
    });
    expect(ofType(planned, 'oci_core_vtap').map((v) => [v.after.vxlan_network_identifier, v.after.is_vtap_enabled])).toEqual([['1010', true], ['1011', true]]);
    expect(ofType(planned, 'oci_core_instance').map((i) => i.after.display_name)).toEqual(['vtap-archiver-jump']);
    expect(ofType(planned, 'oci_autoscaling_auto_scaling_configuration')).toHaveLength(1);
    const [filter] = ofType(planned, 'oci_core_capture_filter');
    expect(filter!.after.display_name).toBe('vtap-archiver-custom');
    expect(filter!.after.vtap_capture_filter_rules).toEqual([expect.objectContaining({
      traffic_direction: 'INGRESS', rule_action: 'INCLUDE', protocol: '17',
      udp_options: [{ destination_port_range: [{ min: 53, max: 53 }], source_port_range: [] }],
    })]);
    expect(ofType(planned, 'oci_core_instance_configuration')[0]!.after.instance_details[0].launch_details[0].shape_config).toEqual([]);
    const bucket = ofType(planned, 'oci_objectstorage_bucket').find((b) => b.after.name === 'vtap-archiver-captures')!.after;
    expect(bucket.kms_key_id).toBe('ocid1.key.oc1..k');
    expect(bucket.retention_rules).toEqual([expect.objectContaining({ duration: [{ time_amount: '30', time_unit: 'DAYS' }] })]);
    const kms = ofType(planned, 'oci_identity_policy').find((p) => p.after.name === 'vtap-archiver-bucket-key')!.after;
    expect(kms.compartment_id).toBe('ocid1.tenancy.oc1..t');
    expect(kms.statements).toEqual(["Allow service objectstorage-eu-frankfurt-1 to use keys in tenancy where target.key.id = 'ocid1.key.oc1..k'"]);
    expect(ofType(planned, 'time_sleep')).toHaveLength(3);
    // capture_filter_expiry: one more statement for the sinks, last (metrics stay on by default).
    const sinks = ofType(planned, 'oci_identity_policy').find((p) => p.after.name === 'vtap-archiver-sinks')!.after;
    expect(sinks.statements).toHaveLength(5);
    expect(sinks.statements[4]).toBe("Allow dynamic-group vtap-archiver-sinks to use capture-filters in compartment id ocid1.compartment.oc1..c where any {request.permission = 'CAPTURE_FILTER_READ', request.permission = 'CAPTURE_FILTER_UPDATE'}");
    // Autoscaling: the pool whose size Terraform ignores.
    expect(ofType(planned, 'oci_core_instance_pool').map((p) => p.address)).toEqual([expect.stringMatching(/sinks_autoscaled-pool_[0-9A-F]+\[0\]$/)]);
  }, 300_000);

  it('plans a key in its own compartment, alarms to a new topic with an e-mail, and agent alarms only with agent_metrics', () => {
    const planned = plan({ kms_key_id: 'ocid1.key.oc1..k', kms_key_compartment_ocid: 'ocid1.compartment.oc1..keys', alarm_email: 'ops@example.com' });
    const kms = ofType(planned, 'oci_identity_policy').find((p) => p.after.name === 'vtap-archiver-bucket-key')!.after;
    expect(kms.compartment_id).toBe('ocid1.compartment.oc1..keys');
    expect(kms.statements).toEqual(["Allow service objectstorage-eu-frankfurt-1 to use keys in compartment id ocid1.compartment.oc1..keys where target.key.id = 'ocid1.key.oc1..k'"]);
    expect(ofType(planned, 'oci_ons_notification_topic').map((t) => t.after.name)).toEqual(['vtap-archiver-alarms']);
    expect(ofType(planned, 'oci_ons_subscription').map((t) => [t.after.protocol, t.after.endpoint])).toEqual([['EMAIL', 'ops@example.com']]);
    const alarms = ofType(planned, 'oci_monitoring_alarm');
    expect(alarms.map((a) => a.after.display_name).sort()).toEqual([
      'vtap-archiver-conntrack', 'vtap-archiver-evictions', 'vtap-archiver-kernel-drops', 'vtap-archiver-no-healthy-sink',
      'vtap-archiver-sink-cpu', 'vtap-archiver-sink-unhealthy', 'vtap-archiver-upload-age',
    ]);
    expect(alarms.find((a) => a.after.display_name === 'vtap-archiver-upload-age')!.after.query).toBe('SecondsSinceLastUpload[1m].max() > 1800');

    const quiet = plan({ alarm_topic_id: 'ocid1.onstopic.oc1..given', agent_metrics: false });
    expect(ofType(quiet, 'oci_ons_notification_topic')).toEqual([]);
    const ociOnly = ofType(quiet, 'oci_monitoring_alarm');
    expect(ociOnly.map((a) => a.after.namespace).sort()).toEqual(['oci_computeagent', 'oci_nlb', 'oci_nlb', 'oci_vcn']);
    for (const alarm of ociOnly) expect(alarm.after.destinations).toEqual(['ocid1.onstopic.oc1..given']);
    expect(ofType(quiet, 'oci_identity_policy')[0]!.after.statements).toHaveLength(3);
  }, 300_000);

  it('refuses to plan a custom capture filter without rules', () => {
    writeFileSync(join(stackDir, 'main.tf.json'), original);
    writeFileSync(join(stackDir, 'test.tfvars.json'), JSON.stringify({ ...REQUIRED, capture_filter_preset: 'custom', capture_filter_rules_json: '[]' }));
    const run = spawnSync('terraform', ['plan', '-input=false', '-no-color', '-var-file=test.tfvars.json'], { cwd: stackDir, env, encoding: 'utf8', timeout: 240_000 });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`.replace(/\s+/g, ' ')).toContain('capture_filter_rules_json must be a JSON list of 1 to 10 rules');
  }, 300_000);

  it('refuses to plan a delete rule that fires inside the retention period', () => {
    writeFileSync(join(stackDir, 'main.tf.json'), original);
    writeFileSync(join(stackDir, 'test.tfvars.json'), JSON.stringify({ ...REQUIRED, retention_days: 400, delete_after_days: 30 }));
    const run = spawnSync('terraform', ['plan', '-input=false', '-no-color', '-var-file=test.tfvars.json'], { cwd: stackDir, env, encoding: 'utf8', timeout: 240_000 });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`.replace(/\s+/g, ' ')).toContain('delete_after_days must be 0 (never) or longer than retention_days.');
  }, 300_000);
});
