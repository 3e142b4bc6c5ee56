import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProviderSchema } from '../../infra/package/stack-zip.js';
import { STACK_PROVIDERS } from '../../infra/package/provider-source.js';
import {
  checkTemplateSyntax,
  validateTerraformJson,
  type ProviderSchemaFile,
} from '../../infra/package/provider-schema.js';
import { ROOT, synthesize, type TerraformJson } from './helpers.js';

// Both committed schemas: oracle/oci and the hand-written hashicorp/time (time_sleep).
const schema: ProviderSchemaFile = loadProviderSchema(ROOT);
const validate = (config: unknown): string[] => validateTerraformJson(config, schema, { providers: STACK_PROVIDERS });

let config: TerraformJson;
beforeAll(async () => {
  config = (await synthesize()).config;
});

/** A deep copy to break one thing in. */
const copy = (): TerraformJson => structuredClone(config);
const firstOf = (c: TerraformJson, type: string): any => Object.values(c.resource[type]!)[0];

describe('the committed provider schema', () => {
  it('is the file PROVENANCE.md describes (sha256)', async () => {
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(readFileSync(join(ROOT, 'infra/oci/provider-schema.json'))).digest('hex');
    expect(readFileSync(join(ROOT, 'infra/oci/PROVENANCE.md'), 'utf8')).toContain(sha);
  });
});

describe('the synthesized stack against the oracle/oci 8.28.0 schema', () => {
  it('has no unknown type, attribute or block, no type mismatch and no missing required field', () => {
    expect(validate(config)).toEqual([]);
  });

  it('has only well-formed Terraform expressions (parsed by the HCL parser)', async () => {
    expect(await checkTemplateSyntax(config)).toEqual([]);
  });

  it('uses every kind of resource the design needs', () => {
    for (const type of [
      'oci_core_vcn', 'oci_core_service_gateway', 'oci_core_network_security_group_security_rule', 'oci_core_instance_configuration',
      'oci_core_instance_pool', 'oci_network_load_balancer_backend_set', 'oci_core_capture_filter', 'oci_core_vtap',
      'oci_objectstorage_bucket', 'oci_objectstorage_object_lifecycle_policy', 'oci_identity_dynamic_group', 'oci_identity_policy',
    ]) {
      expect(config.resource[type], type).toBeDefined();
    }
  });
});

describe('the validator', () => {
  it('checks time_sleep against the hand-written hashicorp/time schema, and requires that provider pinned', () => {
    const broken = copy();
    const sleep = firstOf(broken, 'time_sleep');
    sleep.create_durration = sleep.create_duration;
    delete sleep.create_duration;
    broken.terraform.required_providers.time.version = '~> 0.13';
    expect(validate(broken)).toEqual([
      expect.stringMatching(/^resource\.time_sleep\.iam_[\w-]+\.create_durration: unknown attribute or block \(did you mean create_duration\?\)$/),
      'terraform.required_providers.time.version: must pin an exact version, got "~> 0.13"',
    ]);
  });

  it('catches a misspelled attribute and suggests the right one', () => {
    const broken = copy();
    const vcn = firstOf(broken, 'oci_core_vcn');
    vcn.dispaly_name = vcn.display_name;
    delete vcn.display_name;
    const problems = validate(broken);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^resource\.oci_core_vcn\.network_vcn_[0-9A-F]+\.dispaly_name: unknown attribute or block \(did you mean display_name\?\)$/);
  });

  it('catches a misspelled attribute inside a nested block', () => {
    const broken = copy();
    const set = firstOf(broken, 'oci_network_load_balancer_backend_set');
    set.health_checker.url_pth = set.health_checker.url_path;
    delete set.health_checker.url_path;
    expect(validate(broken)).toEqual([expect.stringMatching(/health_checker\.url_pth: unknown attribute or block \(did you mean url_path\?\)$/)]);
  });

  it('catches a missing required attribute and a missing required block', () => {
    const broken = copy();
    delete firstOf(broken, 'oci_core_vtap').capture_filter_id;
    delete firstOf(broken, 'oci_network_load_balancer_backend_set').health_checker;
    const problems = validate(broken);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/oci_core_vtap\..*\.capture_filter_id: is required$/),
      expect.stringMatching(/oci_network_load_balancer_backend_set\..*\.health_checker: block is required/),
    ]));
    expect(problems).toHaveLength(2);
  });

  it('catches a wrong type, a computed-only attribute and too many blocks', () => {
    const broken = copy();
    firstOf(broken, 'oci_network_load_balancer_backend_set').health_checker.port = 'ninety';
    firstOf(broken, 'oci_core_vcn').is_ipv6enabled = ['yes'];
    firstOf(broken, 'oci_objectstorage_preauthrequest').access_uri = '/p/abc';
    const set = firstOf(broken, 'oci_network_load_balancer_backend_set');
    set.health_checker = [set.health_checker, set.health_checker];
    const problems = validate(broken);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/health_checker\[0\]\.port: expected number, got string "ninety"$/),
      expect.stringMatching(/oci_core_vcn\..*\.is_ipv6enabled: expected bool, got a list$/),
      expect.stringMatching(/oci_objectstorage_preauthrequest\..*\.access_uri: is computed-only and cannot be set$/),
      expect.stringMatching(/health_checker: at most 1 block\(s\), got 2$/),
    ]));
  });

  it('catches an unknown resource type, data source and a bad dynamic block', () => {
    const broken = copy();
    broken.resource.oci_core_vtaps = broken.resource.oci_core_vtap!;
    broken.data.oci_core_imagez = broken.data.oci_core_images!;
    const bucket = Object.values(broken.resource.oci_objectstorage_bucket!).find((b: any) => b.dynamic);
    bucket.dynamic.retention_rules.content.duration[0].time_units = 'DAYS';
    const problems = validate(broken);
    expect(problems).toEqual(expect.arrayContaining([
      'resource.oci_core_vtaps: unknown resource type (did you mean oci_core_vtap?)',
      'data.oci_core_imagez: unknown data source type (did you mean oci_core_images?)',
      expect.stringMatching(/dynamic\.retention_rules\.content\.duration\.time_units: unknown attribute or block \(did you mean time_unit\?\)$/),
    ]));
  });

  it('requires the provider version to be pinned', () => {
    const broken = copy();
    broken.terraform.required_providers.oci.version = '>= 8.0';
    expect(validate(broken)).toEqual(['terraform.required_providers.oci.version: must pin an exact version, got ">= 8.0"']);
  });

  it('reports a `${` nested inside an expression with its JSON path', async () => {
    const broken = copy();
    const launch = firstOf(broken, 'oci_core_instance_configuration').instance_details.launch_details;
    launch.metadata.vtap_archiver_encapsulation_ports = '${join(",", ${[for p in var.encapsulation_ports : tostring(p)]})}';
    const problems = await checkTemplateSyntax(broken);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^resource\.oci_core_instance_configuration\..*\.metadata\.vtap_archiver_encapsulation_ports: .*Invalid/);
  });
});
