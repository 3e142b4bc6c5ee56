import { Fn, TerraformLocal, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataOciIdentityAvailabilityDomains } from './.gen/oci/data-oci-identity-availability-domains/index.js';
import { OciProvider } from './.gen/oci/provider/index.js';
import { agentConfig, METADATA, AGENT_HTTP_PORT } from './agent-config.js';
import { Alarms } from './alarms.js';
import { CloudInit } from './cloud-init.js';
import { DemoSources } from './demo-sources.js';
import { AGENT_METRICS_NAMESPACE, Iam, SINK_ROLE_TAG, SINK_ROLE_VALUE } from './iam.js';
import { JumpHost } from './jump-host.js';
import { Mirroring } from './mirroring.js';
import { Network } from './network.js';
import { Nlb } from './nlb.js';
import { Outputs } from './outputs.js';
import { address } from './refs.js';
import { Security } from './security.js';
import { Sinks } from './sinks.js';
import { Storage } from './storage.js';
import { TimeProvider, TIME_PROVIDER_VERSION } from './time.js';
import { Variables } from './variables.js';

/** The oracle/oci provider release the committed schema (infra/oci/provider-schema.json) describes. */
export const OCI_PROVIDER_VERSION = '8.28.0';
export const STACK_NAME = 'vtap-archiver';

export interface VtapArchiverStackProps {
  /** The node kit tarball built by scripts/package-stack.mjs. */
  readonly kitFile: string;
  /** Its object name in the bucket; carries a content hash. */
  readonly kitObjectName: string;
  /** cloud-init/ folder (defaults to the repository's). */
  readonly cloudInitDir?: string;
}

/** The whole deployment: network, NLB, sinks, mirroring, bucket, IAM and demo traffic. */
export class VtapArchiverStack extends TerraformStack {
  readonly vars: Variables;

  constructor(scope: Construct, id: string, props: VtapArchiverStackProps) {
    super(scope, id);
    const vars = (this.vars = new Variables(this, 'vars'));
    const compartmentId = vars.string('compartment_ocid');
    const region = vars.string('region');
    const namePrefix = vars.string('name_prefix');

    // Laptop: ~/.oci/config (optionally a named profile). Resource Manager: its own auth, no profile.
    const providerSettings = {
      region,
      configFileProfile: `\${${vars.ref('oci_config_profile')} == "" ? null : ${vars.ref('oci_config_profile')}}`,
    };
    new OciProvider(this, 'oci', providerSettings);
    this.addOverride('terraform.required_providers.oci.version', OCI_PROVIDER_VERSION);
    // time_sleep: waits for tags and policies to propagate (infra/iam.ts).
    const time = new TimeProvider(this, 'time');
    this.addOverride('terraform.required_providers.time', { source: 'registry.terraform.io/hashicorp/time', version: TIME_PROVIDER_VERSION });
    this.addOverride('terraform.required_version', '>= 1.5.0');

    const ads = new DataOciIdentityAvailabilityDomains(this, 'ads', { compartmentId: vars.string('tenancy_ocid') });
    const availabilityDomain = `\${${address(ads)}.availability_domains[${vars.ref('availability_domain_number')} - 1].name}`;
    const availabilityDomainNames = `${address(ads)}.availability_domains[*].name`;

    const network = new Network(this, 'network', { vars, compartmentId, namePrefix });
    const security = new Security(this, 'security', {
      vars, compartmentId, namePrefix, vcnId: network.vcn.id, vcnCidr: network.vcnCidr,
    });
    const iam = new Iam(this, 'iam', {
      vars, tenancyId: vars.string('tenancy_ocid'), compartmentId, namePrefix, providerSettings, time,
    });
    const storage = new Storage(this, 'storage', {
      vars, compartmentId, namePrefix, kitFile: props.kitFile, kitObjectName: props.kitObjectName,
      bucketDependsOn: [iam.kmsPolicyWait],
      lifecycleDependsOn: [iam.policyWait],
    });

    const cloudInit = new CloudInit(this, 'cloud-init', props.cloudInitDir);
    const nlb = new Nlb(this, 'nlb', {
      vars, compartmentId, namePrefix, subnetId: network.sinksSubnet.id, nsgId: security.nlb.id,
    });

    const jump = new JumpHost(this, 'jump', {
      vars, compartmentId, namePrefix, availabilityDomain,
      subnetId: network.publicSubnet.id, nsgId: security.jump.id, cloudInit, kitUrl: storage.kitUrl,
    });
    const sources = new DemoSources(this, 'demo', {
      vars, compartmentId, namePrefix, availabilityDomain,
      subnetId: network.sourcesSubnet.id, nsgId: security.sources.id, cloudInit, kitUrl: storage.kitUrl,
      fileServerIp: jump.privateIp,
    });
    const mirroring = new Mirroring(this, 'mirroring', {
      vars, compartmentId, namePrefix, vcnId: network.vcn.id, nlbId: nlb.nlb.id, demoVnicIds: sources.vnicIds,
    });
    // The sinks' expiry sweep is given the filter by its OCID (the one filter the chosen preset
    // creates); a local, because a raw expression inside jsonencode() would be escaped as text.
    const captureFilterId = new TerraformLocal(this, 'capture-filter-id', `\${one(concat(${mirroring.filters.map((f) => `${address(f)}[*].id`).join(', ')}))}`);
    captureFilterId.overrideLogicalId('capture_filter_id');

    const config = agentConfig({
      namespace: storage.namespace,
      bucket: storage.bucket.name,
      region,
      prefix: vars.string('capture_prefix'),
      decap: vars.string('decapsulation'),
      compress: vars.string('compression'),
      vxlanPorts: vars.numberList('encapsulation_ports'),
      spoolQuotaMegabytes: vars.number('spool_quota_megabytes'),
      monitoring: { enabled: vars.bool('agent_metrics'), compartmentId, namespace: AGENT_METRICS_NAMESPACE, region },
      captureFilter: { expirySweep: vars.bool('capture_filter_expiry'), filterId: captureFilterId.asString, region },
    });
    const sinks = new Sinks(this, 'sinks', {
      vars, compartmentId, namePrefix, availabilityDomain, availabilityDomainNames,
      subnetId: network.sinksSubnet.id,
      nsgId: security.sinks.id,
      metadata: {
        ssh_authorized_keys: vars.string('ssh_public_key'),
        user_data: cloudInit.userData('sink'),
        [METADATA.role]: 'sink',
        [METADATA.kitUrl]: storage.kitUrl,
        [METADATA.config]: Fn.jsonencode(config),
        [METADATA.healthPort]: String(AGENT_HTTP_PORT),
        [METADATA.encapsulationPorts]: `\${join(",", [for p in ${vars.ref('encapsulation_ports')} : tostring(p)])}`,
      },
      // The defined tag is what puts a sink in the dynamic group.
      definedTags: Token.asStringMap(`\${zipmap(["\${${vars.ref('name_prefix')}}.${SINK_ROLE_TAG}"], ["${SINK_ROLE_VALUE}"])}`),
      nlbId: nlb.nlb.id,
      backendSetName: nlb.backendSet.name,
      port: nlb.port,
      dependsOn: [iam.tagWait, iam.policyWait, nlb.listener],
    });

    new Alarms(this, 'alarms', { vars, compartmentId, namePrefix, nlbId: nlb.nlb.id, sinkPoolId: sinks.poolId });

    new Outputs(this, 'outputs', {
      nlbPrivateIp: nlb.privateIp,
      bucket: storage.bucket.name,
      namespace: storage.namespace,
      region,
      compartmentId,
      namePrefix,
      capturePrefix: vars.string('capture_prefix'),
      sinkPoolId: sinks.poolId,
      jumpHostPublicIp: jump.publicIp,
      vtapIds: `\${ { for key, vtap in ${address(mirroring.vtaps)} : key => vtap.id } }`,
    });
  }
}
