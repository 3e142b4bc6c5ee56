import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/**
 * The real `terraform validate` on the Resource Manager zip, offline: the oracle/oci provider is
 * replaced (CLI dev_overrides) by test/infra/schema-provider, which serves the committed provider
 * schema over the plugin protocol and accepts every configuration. Terraform itself then checks
 * argument names, types, required arguments, block counts and every reference to a resource
 * attribute, exactly as it would with the real provider's schema.
 */
const available = spawnSync('terraform', ['version'], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } }).status === 0;
if (!available) console.warn('terraform-validate: no terraform on PATH, these checks are skipped');

interface Diagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail: string;
}
interface ValidateResult {
  valid: boolean;
  error_count: number;
  diagnostics: Diagnostic[];
}

let work: string;
let stackDir: string;
let original: string;
let env: NodeJS.ProcessEnv;

function validate(config: unknown = JSON.parse(original)): ValidateResult {
  writeFileSync(join(stackDir, 'main.tf.json'), JSON.stringify(config, null, 2));
  const result = spawnSync('terraform', ['validate', '-json', '-no-color'], { cwd: stackDir, env, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(result.stdout) as ValidateResult;
}
const errors = (result: ValidateResult) => result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.summary}: ${d.detail}`);

describe.runIf(available)('terraform validate of the stack zip against the oracle/oci 8.28.0 schema', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'vtap-tf-validate-'));
    const zip = join(work, 'stack.zip');
    execFileSync(process.execPath, [join(ROOT, 'scripts/package-stack.mjs'), 'package', zip], { cwd: ROOT, stdio: 'pipe' });
    stackDir = join(work, 'stack');
    mkdirSync(stackDir);
    execFileSync('unzip', ['-q', zip, '-d', stackDir]);
    original = readFileSync(join(stackDir, 'main.tf.json'), 'utf8');

    const plugins = join(work, 'plugins');
    mkdirSync(plugins);
    const provider = join(plugins, 'terraform-provider-oci');
    writeFileSync(provider, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'test/infra/schema-provider/server.mjs')}" "${join(ROOT, 'infra/oci/provider-schema.json')}"\n`);
    chmodSync(provider, 0o755);
    const cliConfig = join(work, 'terraformrc');
    writeFileSync(cliConfig, `provider_installation {\n  dev_overrides {\n    "registry.terraform.io/oracle/oci" = "${plugins}"\n  }\n  direct {}\n}\n`);
    env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
  }, 180_000);

  it('is valid', () => {
    const result = validate();
    expect(errors(result)).toEqual([]);
    expect(result.valid).toBe(true);
    // The override is in effect: the schema came from our provider, not from nowhere.
    expect(result.diagnostics.map((d) => d.summary)).toContain('Provider development overrides are in effect');
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
});
