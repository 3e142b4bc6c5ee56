/**
 * The options `vtaps` and `filter` share to find a deployment in OCI (compartment, the stack's
 * name_prefix, region, config file and profile, and the hidden test endpoint), and the SDK
 * options they give. One place, so both commands take the same flags with the same help.
 */
import { Option, type Command } from 'commander';
import type { SdkApiOptions } from '../vtaps/api.js';
import { DEFAULT_DEPLOYMENT } from '../vtaps/operations.js';

export interface DeploymentFlags {
  compartment?: string;
  deployment: string;
  region?: string;
  configFile?: string;
  profile?: string;
  endpoint?: string;
}

/**
 * Adds the deployment options. `target` is the command's way to name what it acts on instead of
 * the deployment's tagged resources (--vtap, --filter-id); its help line sits after --deployment.
 */
export function withDeploymentOptions(command: Command, target: Option): Command {
  return command
    .option('--compartment <ocid>', 'compartment of the deployment (default: $OCI_COMPARTMENT_ID)')
    .option('--deployment <name>', 'the stack\'s name_prefix, as tagged on its VTAPs', DEFAULT_DEPLOYMENT)
    .addOption(target)
    .option('--region <region>', 'region (default: the profile\'s)')
    .option('--config-file <path>', 'OCI config file (default: ~/.oci/config)')
    .option('--profile <name>', 'profile in the config file', 'DEFAULT')
    .addOption(new Option('--endpoint <url>', 'service endpoint override (tests)').hideHelp());
}

/** The compartment: the flag, else $OCI_COMPARTMENT_ID. */
export function compartmentOf(flags: DeploymentFlags): string | undefined {
  return flags.compartment ?? process.env.OCI_COMPARTMENT_ID;
}

/** The SDK client options the flags give (only those set, so the SDK's defaults apply to the rest). */
export function sdkApiOptions(flags: DeploymentFlags): SdkApiOptions {
  return {
    ...(flags.configFile ? { configFile: flags.configFile } : {}),
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
  };
}
