import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDER_SCHEMA_FILES } from '../../infra/package/provider-source.js';

/**
 * Runs the real Terraform CLI offline against a synthesized stack: the providers (oracle/oci,
 * hashicorp/time), which only the registry has, are replaced through CLI dev_overrides by
 * schema-provider/server.mjs, a provider that serves a committed schema and accepts everything. Terraform then does its own
 * validation (names, types, required arguments, references) and can even plan.
 */
export function terraformAvailable(): boolean {
  return spawnSync('terraform', ['version'], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' }, stdio: 'ignore' }).status === 0;
}

/**
 * Writes one schema-only provider wrapper per provider the stack uses (oracle/oci, hashicorp/time)
 * and a CLI config that overrides both; returns the environment to run terraform with.
 */
export function schemaProviderEnv(root: string, work: string): NodeJS.ProcessEnv {
  const plugins = join(work, 'plugins');
  mkdirSync(plugins, { recursive: true });
  const overrides: string[] = [];
  for (const [source, schemaFile] of Object.entries(PROVIDER_SCHEMA_FILES)) {
    const type = source.split('/').pop()!;
    const provider = join(plugins, `terraform-provider-${type}`);
    writeFileSync(provider, `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'testkit/schema-provider/server.mjs')}" "${join(root, schemaFile)}" "${source}"\n`);
    chmodSync(provider, 0o755);
    overrides.push(`    "${source}" = "${plugins}"`);
  }
  const cliConfig = join(work, 'terraformrc');
  writeFileSync(cliConfig, `provider_installation {\n  dev_overrides {\n${overrides.join('\n')}\n  }\n  direct {}\n}\n`);
  return { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
}

export interface TerraformDiagnostic {
  severity: 'error' | 'warning';
  summary: string;
  detail: string;
}

export interface ValidateResult {
  valid: boolean;
  error_count: number;
  diagnostics: TerraformDiagnostic[];
}

/** `terraform validate -json` in `stackDir` with the given environment. */
export function terraformValidate(stackDir: string, env: NodeJS.ProcessEnv): ValidateResult {
  const result = spawnSync('terraform', ['validate', '-json', '-no-color'], { cwd: stackDir, env, encoding: 'utf8', timeout: 180_000 });
  if (!result.stdout) throw new Error(`terraform validate produced no output: ${result.stderr}`);
  return JSON.parse(result.stdout) as ValidateResult;
}

/** "summary: detail" of each error. */
export function validateErrors(result: ValidateResult): string[] {
  return result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.summary}: ${d.detail}`);
}
