import { TerraformProvider, TerraformResource, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/**
 * hashicorp/time, for one resource: `time_sleep`. Written by hand (two small classes) instead of
 * generated bindings: the stack needs only create_duration and depends_on. Its schema, for the
 * offline checks, is infra/time/provider-schema.json (see infra/time/PROVENANCE.md).
 */
export const TIME_PROVIDER_VERSION = '0.13.1';

export class TimeProvider extends TerraformProvider {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      terraformResourceType: 'time',
      terraformGeneratorMetadata: { providerName: 'time', providerVersion: TIME_PROVIDER_VERSION },
      terraformProviderSource: 'hashicorp/time',
    });
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return {};
  }
}

export interface TimeSleepConfig {
  /** Go duration, e.g. "90s". */
  readonly createDuration: string;
  readonly dependsOn: ITerraformDependable[];
  readonly provider: TimeProvider;
  /** Terraform expression for `count`, when the things waited for are optional. */
  readonly count?: number;
}

/**
 * Waits `createDuration` after everything in dependsOn exists. Resources that need what those
 * created to have propagated (IAM policies, defined tags: OCI applies them eventually, and in the
 * home region first) depend on the wait instead.
 */
export class TimeSleep extends TerraformResource {
  readonly createDuration: string;

  constructor(scope: Construct, id: string, config: TimeSleepConfig) {
    super(scope, id, {
      terraformResourceType: 'time_sleep',
      terraformGeneratorMetadata: { providerName: 'time', providerVersion: TIME_PROVIDER_VERSION },
      provider: config.provider,
      dependsOn: config.dependsOn,
      ...(config.count === undefined ? {} : { count: config.count }),
    });
    this.createDuration = config.createDuration;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { create_duration: this.createDuration };
  }
}
