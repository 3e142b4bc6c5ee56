/**
 * `vtap-archiver vtaps status|start|stop`: run or stop a deployment's VTAPs from a laptop, with the
 * official OCI SDK and ~/.oci/config auth. The stack creates VTAPs stopped (OCI refuses to create a
 * running one) and tags them app=vtap-archiver, deployment=<name_prefix>; `start --wait-healthy`
 * waits until the NLB reports healthy sinks, so no mirrored traffic goes to a sink that cannot
 * archive it.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../usage-error.js';
import type { VtapApi, VtapInfo } from '../vtaps/api.js';
import { healthLines, vtapTable } from '../vtaps/format.js';
import { compartmentOf, sdkApiOptions, withDeploymentOptions, type DeploymentFlags } from './deployment-options.js';
import {
  DEFAULT_BACKEND_SET,
  selectVtaps,
  setVtaps,
  sinkHealth,
  waitForHealthySinks,
  type Timing,
} from '../vtaps/operations.js';

interface VtapsFlags extends DeploymentFlags {
  vtap?: string[];
  backendSet: string;
  waitHealthy?: boolean;
  timeout: string;
  pollSeconds: string;
  json?: boolean;
}

function seconds(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of seconds, got "${value}"`);
  return n * 1000;
}

async function api(flags: VtapsFlags): Promise<VtapApi> {
  // The OCI core SDK loads only for this command, not for every start of the CLI.
  const { createSdkApi } = await import('../vtaps/api.js');
  return createSdkApi(sdkApiOptions(flags));
}

function selection(flags: VtapsFlags) {
  const compartmentId = compartmentOf(flags);
  if (!compartmentId) throw new UsageError('--compartment <ocid> is required (the stack output next_commands has it)');
  return { compartmentId, deployment: flags.deployment, ...(flags.vtap ? { vtapIds: flags.vtap } : {}) };
}

function timing(flags: VtapsFlags): Timing {
  return {
    timeoutMs: seconds(flags.timeout, 'timeout'),
    pollMs: seconds(flags.pollSeconds, 'poll-seconds'),
    log: (line) => process.stderr.write(`vtaps: ${line}\n`),
  };
}

function withCommonOptions(command: Command): Command {
  return withDeploymentOptions(command, new Option('--vtap <ocid...>', 'act on these VTAPs instead of the deployment\'s tagged ones'))
    .option('--backend-set <name>', 'NLB backend set of the sinks', DEFAULT_BACKEND_SET)
    .option('--timeout <seconds>', 'how long to wait for sinks or VTAPs', '600')
    .option('--poll-seconds <seconds>', 'pause between checks', '10')
    .option('--json', 'print JSON');
}

/** The deployment's VTAPs, after checking the flags (usage errors first, before any config is read). */
async function found(flags: VtapsFlags): Promise<{ client: VtapApi; vtaps: VtapInfo[] }> {
  const chosen = selection(flags);
  const client = await api(flags);
  return { client, vtaps: await selectVtaps(client, chosen) };
}

/** Starts (after the optional health wait) or stops, then prints the VTAPs as OCI reports them. */
async function switchVtaps(flags: VtapsFlags, enabled: boolean): Promise<void> {
  const { client, vtaps } = await found(flags);
  const t = timing(flags);
  if (enabled && flags.waitHealthy) await waitForHealthySinks(client, vtaps, flags.backendSet, t);
  const after = await setVtaps(client, vtaps, enabled, t);
  process.stdout.write(flags.json ? `${JSON.stringify({ vtaps: after }, null, 2)}\n` : `${vtapTable(after)}\n`);
  if (enabled) t.log('running. The stack leaves the running state to this command (Terraform ignores is_vtap_enabled after creation).');
}

export function registerVtaps(program: Command): void {
  const vtaps = program
    .command('vtaps')
    .description('status, start or stop the VTAPs of a deployment (OCI SDK, ~/.oci/config auth)');

  withCommonOptions(vtaps.command('status'))
    .description('list the deployment\'s VTAPs (VNI, state, running) and the health of the sinks behind their NLB')
    .action(async (flags: VtapsFlags) => {
      const { client, vtaps: list } = await found(flags);
      const health = await sinkHealth(client, list, flags.backendSet);
      process.stdout.write(flags.json
        ? `${JSON.stringify({ vtaps: list, sinks: Object.fromEntries(health) }, null, 2)}\n`
        : `${vtapTable(list)}\n${healthLines(health, flags.backendSet).join('\n')}\n`);
    });

  withCommonOptions(vtaps.command('start'))
    .description('start the VTAPs (mirroring begins) and wait until OCI reports them running')
    .option('--wait-healthy', 'first wait until the NLB reports every sink healthy')
    .action((flags: VtapsFlags) => switchVtaps(flags, true));

  withCommonOptions(vtaps.command('stop'))
    .description('stop the VTAPs (mirroring ends; sinks keep archiving what they have)')
    .action((flags: VtapsFlags) => switchVtaps(flags, false));
}
