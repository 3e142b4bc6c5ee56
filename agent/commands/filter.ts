/**
 * `vtap-archiver filter show|add|remove|reset`: change what a deployment's VTAPs mirror, e.g. when
 * a detector flags a host pair: `filter add '{"direction":"INGRESS","sourceCidr":"10.0.1.7/32"}' --for 1h`.
 * Rules are the stack's rule data (infra/capture-filters.ts). The filter is the one the
 * deployment's VTAPs use (found like `vtaps` finds them), changed with the official SDK and
 * ~/.oci/config auth. Every call first removes rules whose `--for` time is up (agent/vtaps/capture-filter.ts).
 */
import { Command, Option } from 'commander';
import { UsageError } from '../usage-error.js';
import type { VtapApi } from '../vtaps/api.js';
import type { FilterChange } from '../vtaps/capture-filter.js';
import { parseDuration, parseRule } from '../vtaps/capture-rules.js';
import { compartmentOf, sdkApiOptions, withDeploymentOptions, type DeploymentFlags } from './deployment-options.js';

interface FilterFlags extends DeploymentFlags {
  filterId?: string;
  json?: boolean;
  for?: string;
}

function withCommonOptions(command: Command): Command {
  return withDeploymentOptions(command, new Option('--filter-id <ocid>', 'this capture filter instead of the one the deployment\'s VTAPs use'))
    .option('--json', 'print JSON');
}

async function run(flags: FilterFlags, change: FilterChange): Promise<void> {
  const compartmentId = compartmentOf(flags);
  if (!compartmentId && !flags.filterId) throw new UsageError('--compartment <ocid> is required (or --filter-id)');
  const [{ createSdkApi }, { changeFilter, describeFilter, filterTable, findCaptureFilter }] = await Promise.all([
    import('../vtaps/api.js'), import('../vtaps/capture-filter.js'),
  ]);
  const api: VtapApi = await createSdkApi(sdkApiOptions(flags));
  const filterId = await findCaptureFilter(api, { compartmentId: compartmentId ?? '', deployment: flags.deployment, ...(flags.filterId ? { filterId: flags.filterId } : {}) });
  const { filter, changes } = await changeFilter(api, filterId, change);
  for (const line of changes) process.stderr.write(`filter: ${line}\n`);
  process.stdout.write(flags.json ? `${JSON.stringify({ id: filter.id, changes, ...describeFilter(filter) }, null, 2)}\n` : `${filterTable(filter)}\n`);
}

export function registerFilter(program: Command): void {
  const filter = program
    .command('filter')
    .description('show or change the deployment\'s VTAP capture filter (OCI SDK, ~/.oci/config auth)');

  withCommonOptions(filter.command('show'))
    .description('list the rules in order (first match wins), which ones were added here and until when')
    .action((flags: FilterFlags) => run(flags, { op: 'sweep' }));

  withCommonOptions(filter.command('add'))
    .argument('<rule>', 'JSON rule: {"direction":"INGRESS"|"EGRESS", "action", "protocol", "sourceCidr", "destinationCidr", "tcpDestinationPort", ...}')
    .option('--for <duration>', 'remove the rule again after this long (30m, 1h, 1d)')
    .description('add a rule in front of the others (an eleventh is refused)')
    .action((text: string, flags: FilterFlags) => {
      const rule = parseRule(text);
      const expiresAt = flags.for ? new Date(Date.now() + parseDuration(flags.for)) : undefined;
      return run(flags, { op: 'add', rule, ...(expiresAt ? { expiresAt } : {}) });
    });

  withCommonOptions(filter.command('remove'))
    .argument('<rule>', 'the rule, as given to add (defaults filled in the same way)')
    .description('remove a rule')
    .action((text: string, flags: FilterFlags) => run(flags, { op: 'remove', rule: parseRule(text) }));

  withCommonOptions(filter.command('reset'))
    .description('remove every rule added with `filter add`: back to the stack\'s rules')
    .action((flags: FilterFlags) => run(flags, { op: 'reset' }));
}
