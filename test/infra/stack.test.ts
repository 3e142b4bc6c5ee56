import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../agent/daemon/config.js';
import { AGENT_HTTP_PORT } from '../../infra/agent-config.js';
import { CAPTURE_FILTER_PRESETS } from '../../infra/capture-filters.js';
import { alarmSpecs } from '../../infra/alarms.js';
import { AGENT_METRICS_NAMESPACE, POLICY_PROPAGATION, TAG_PROPAGATION } from '../../infra/iam.js';
import { OCI_PROVIDER_VERSION } from '../../infra/stack.js';
import { TIME_PROVIDER_VERSION } from '../../infra/time.js';
import { OCI_METRIC_NAMES } from '../../agent/daemon/monitoring.js';
import { VARIABLES } from '../../infra/variables.js';
import { byPath, only, renderedSinkConfig, synthesize, type Synthesized } from './helpers.js';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesize();
});

const TCP = '6';
const UDP = '17';

describe('provider', () => {
  it('pins oracle/oci to the version of the committed schema', () => {
    expect(synth.config.terraform.required_providers.oci).toEqual({ source: 'registry.terraform.io/oracle/oci', version: OCI_PROVIDER_VERSION });
  });

  it('creates identity resources through a home-region provider alias', () => {
    const home = synth.config.provider.oci!.find((p) => p.alias === 'home');
    expect(home?.region).toMatch(/^\$\{data\.oci_identity_regions\..*\.regions\[0\]\.name\}$/);
    for (const type of ['oci_identity_dynamic_group', 'oci_identity_policy', 'oci_identity_tag_namespace', 'oci_identity_tag']) {
      for (const resource of Object.values(synth.config.resource[type]!)) expect(resource.provider, type).toBe('oci.home');
    }
  });

  it('pins hashicorp/time (time_sleep) beside oracle/oci', () => {
    expect(synth.config.terraform.required_providers.time).toEqual({ source: 'registry.terraform.io/hashicorp/time', version: TIME_PROVIDER_VERSION });
  });
});

describe('propagation waits', () => {
  const sleeps = () => byPath(synth.config, 'time_sleep');
  const address = (path: string) => `time_sleep.${Object.keys(synth.config.resource.time_sleep!).find((id) => id.startsWith(`${path}_`))}`;

  it('waits after the tag namespace and the tag, and the tag\'s users depend on the wait', () => {
    const tag = sleeps().get('iam_tag-propagation');
    expect(tag.create_duration).toBe(TAG_PROPAGATION);
    expect(tag.depends_on).toEqual([expect.stringMatching(/^oci_identity_tag_namespace\./), expect.stringMatching(/^oci_identity_tag\./)]);
    expect(only(synth.config, 'oci_core_instance_configuration').depends_on).toContain(address('iam_tag-propagation'));
    expect(only(synth.config, 'oci_identity_dynamic_group').depends_on).toContain(address('iam_tag-propagation'));
  });

  it('waits after the policies; lifecycle rules and sinks wait for the sinks\' policy, the bucket for the key grant', () => {
    const policy = sleeps().get('iam_policy-propagation');
    expect(policy.create_duration).toBe(POLICY_PROPAGATION);
    expect(policy.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^oci_identity_policy\.iam_policy_/)]));
    expect(only(synth.config, 'oci_objectstorage_object_lifecycle_policy').depends_on).toEqual([address('iam_policy-propagation')]);
    expect(only(synth.config, 'oci_core_instance_configuration').depends_on).toContain(address('iam_policy-propagation'));
    const kms = sleeps().get('iam_kms-policy-propagation');
    expect(kms).toMatchObject({ count: '${var.kms_key_id == "" ? 0 : 1}', depends_on: [expect.stringMatching(/^oci_identity_policy\.iam_kms-policy_/)] });
    expect(byPath(synth.config, 'oci_objectstorage_bucket').get('storage_bucket').depends_on).toEqual([address('iam_kms-policy-propagation')]);
  });
});

describe('network security groups', () => {
  it('admits encapsulated UDP from the VCN to the NLB and the sinks, one rule per port', () => {
    const rules = byPath(synth.config, 'oci_core_network_security_group_security_rule');
    for (const path of ['security_nlb-encap-in', 'security_sinks-encap-in']) {
      const rule = rules.get(path);
      expect(rule, path).toMatchObject({
        direction: 'INGRESS', protocol: UDP, stateless: true, source: '${var.vcn_cidr}', source_type: 'CIDR_BLOCK',
        for_each: '${toset(local.encapsulation_port_strings)}',
        udp_options: { destination_port_range: { min: '${each.value}', max: '${each.value}' } },
      });
    }
    expect(synth.config.locals.encapsulation_port_strings).toBe('${[for port in var.encapsulation_ports : tostring(port)]}');
  });

  it('keeps the encapsulation ports out of connection tracking: stateless in, and stateless out of the NLB', () => {
    const rules = byPath(synth.config, 'oci_core_network_security_group_security_rule');
    expect(rules.get('security_nlb-encap-out')).toMatchObject({
      direction: 'EGRESS', protocol: UDP, stateless: true, destination: '${var.vcn_cidr}', destination_type: 'CIDR_BLOCK',
      network_security_group_id: expect.stringMatching(/security_nlb_/),
      udp_options: { destination_port_range: { min: '${each.value}', max: '${each.value}' } },
    });
    // Everything else (SSH, the health check) stays stateful: it needs its replies.
    const stateless = [...rules].filter(([, r]) => r.stateless).map(([path]) => path).sort();
    expect(stateless).toEqual(['security_nlb-encap-in', 'security_nlb-encap-out', 'security_sinks-encap-in']);
  });

  it('admits the agent health port on the sinks only from the NLB (and the jump host)', () => {
    const rules = [...byPath(synth.config, 'oci_core_network_security_group_security_rule').values()];
    const health = rules.filter((r) => r.tcp_options?.destination_port_range?.min === AGENT_HTTP_PORT);
    expect(health).toHaveLength(2);
    for (const rule of health) {
      expect(rule.source_type).toBe('NETWORK_SECURITY_GROUP');
      expect(rule.network_security_group_id).toMatch(/oci_core_network_security_group\.security_sinks_/);
    }
    expect(health.map((r) => r.source).sort()).toEqual([
      expect.stringMatching(/security_jump_/), expect.stringMatching(/security_nlb_/),
    ].sort());
  });

  it('allows SSH to sinks and sources only from the jump host, and to the jump host only from ssh_source_cidr', () => {
    const rules = [...byPath(synth.config, 'oci_core_network_security_group_security_rule').values()];
    const ssh = rules.filter((r) => r.protocol === TCP && r.tcp_options?.destination_port_range?.min === 22);
    expect(ssh).toHaveLength(3);
    const fromCidr = ssh.filter((r) => r.source_type === 'CIDR_BLOCK');
    expect(fromCidr).toHaveLength(1);
    expect(fromCidr[0].source).toBe('${var.ssh_source_cidr}');
    expect(fromCidr[0].network_security_group_id).toMatch(/security_jump_/);
    for (const rule of ssh.filter((r) => r.source_type !== 'CIDR_BLOCK')) expect(rule.source).toMatch(/security_jump_/);
    // Nothing is open to the world.
    expect(rules.filter((r) => r.direction === 'INGRESS' && r.source === '0.0.0.0/0')).toEqual([]);
  });

  it('replaces the default security list (SSH from anywhere) with a path-MTU-only list on every subnet', () => {
    const list = only(synth.config, 'oci_core_security_list');
    expect(list.ingress_security_rules).toEqual([expect.objectContaining({ protocol: '1', icmp_options: { type: 3, code: 4 } })]);
    for (const subnet of Object.values(synth.config.resource.oci_core_subnet!)) {
      expect(subnet.security_list_ids).toEqual([expect.stringMatching(/oci_core_security_list\.network_minimal_/)]);
    }
  });
});

describe('network', () => {
  it('routes private subnets to Object Storage through the service gateway and the rest through NAT', () => {
    const routes = byPath(synth.config, 'oci_core_route_table').get('network_private-routes');
    expect(routes.route_rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ destination_type: 'SERVICE_CIDR_BLOCK', network_entity_id: expect.stringMatching(/oci_core_service_gateway\./) }),
      expect.objectContaining({ destination: '0.0.0.0/0', network_entity_id: expect.stringMatching(/oci_core_nat_gateway\./) }),
    ]));
    const subnets = byPath(synth.config, 'oci_core_subnet');
    for (const name of ['sinks', 'sources']) {
      expect(subnets.get(`network_${name}`)).toMatchObject({ prohibit_public_ip_on_vnic: true, route_table_id: expect.stringMatching(/private-routes/) });
    }
    expect(subnets.get('network_public')).toMatchObject({ prohibit_public_ip_on_vnic: false });
  });
});

describe('network load balancer', () => {
  it('is private, with a UDP listener on the first encapsulation port', () => {
    expect(Testing.toHaveResourceWithProperties(synth.json, 'oci_network_load_balancer_network_load_balancer', { is_private: true })).toBe(true);
    expect(Testing.toHaveResourceWithProperties(synth.json, 'oci_network_load_balancer_listener', { protocol: 'UDP', port: '${var.encapsulation_ports[0]}' })).toBe(true);
  });

  it('health-checks the agent over HTTP on its health endpoint (not TCP 22), preserving the source', () => {
    const set = only(synth.config, 'oci_network_load_balancer_backend_set');
    expect(set.health_checker).toEqual({
      protocol: 'HTTP', port: AGENT_HTTP_PORT, url_path: '/health', return_code: 200,
      interval_in_millis: 10000, timeout_in_millis: 3000, retries: 3,
    });
    expect(set.is_preserve_source).toBe(true);
    expect(set.policy).toBe('${var.nlb_hashing_policy}');
  });

  it('fails a sink\'s flows over at once and keeps the UDP idle timeout explicit', () => {
    expect(only(synth.config, 'oci_network_load_balancer_backend_set').is_instant_failover_enabled).toBe(true);
    expect(only(synth.config, 'oci_network_load_balancer_listener').udp_idle_timeout).toBe(120);
  });
});

describe('sinks', () => {
  it('attach their pool to the NLB backend set on the VXLAN port', () => {
    const pool = byPath(synth.config, 'oci_core_instance_pool').get('sinks_pool');
    expect(pool.load_balancers).toEqual([{
      load_balancer_id: expect.stringMatching(/^\$\{oci_network_load_balancer_network_load_balancer\..*\.id\}$/),
      backend_set_name: expect.stringMatching(/^\$\{oci_network_load_balancer_backend_set\..*\.name\}$/),
      port: '${var.encapsulation_ports[0]}',
      vnic_selection: 'PrimaryVnic',
    }]);
    expect(pool.size).toBe('${var.sink_count}');
    // $${...} keeps OCI's own placeholder away from Terraform.
    expect(pool.instance_hostname_formatter).toBe('sink-$${launchCount}');
  });

  it('spread the pool over every availability domain, one placement configuration each', () => {
    for (const pool of byPath(synth.config, 'oci_core_instance_pool').values()) {
      expect(pool.placement_configurations).toBeUndefined();
      expect(pool.dynamic.placement_configurations).toEqual({
        for_each: expect.stringMatching(/^\$\{data\.oci_identity_availability_domains\.[^.]+\.availability_domains\[\*\]\.name\}$/),
        content: { availability_domain: '${placement_configurations.value}', primary_vnic_subnets: { subnet_id: expect.stringMatching(/oci_core_subnet\..*sinks.*\.id/) } },
      });
    }
  });

  it('leave the pool size to the autoscaler when autoscaling is on (one pool or the other exists)', () => {
    const pools = byPath(synth.config, 'oci_core_instance_pool');
    expect(pools.get('sinks_pool')).toMatchObject({ count: '${var.sink_autoscaling ? 0 : 1}', size: '${var.sink_count}' });
    expect(pools.get('sinks_pool').lifecycle?.ignore_changes ?? []).not.toContain('size');
    expect(pools.get('sinks_autoscaled-pool')).toMatchObject({ count: '${var.sink_autoscaling ? 1 : 0}', lifecycle: { ignore_changes: ['size'] } });
    const autoscaling = only(synth.config, 'oci_autoscaling_auto_scaling_configuration');
    expect(autoscaling.auto_scaling_resources.id).toMatch(/^\$\{oci_core_instance_pool\.sinks_autoscaled-pool_[0-9A-F]+\[0\]\.id\}$/);
    expect(synth.config.output.sink_pool_id.value).toMatch(/^\$\{one\(concat\(oci_core_instance_pool\.sinks_pool_[0-9A-F]+\[\*\]\.id, oci_core_instance_pool\.sinks_autoscaled-pool_[0-9A-F]+\[\*\]\.id\)\)\}$/);
  });

  it('get no public IP, IMDSv2 only, the sink role tag and the agent config in metadata', () => {
    const launch = only(synth.config, 'oci_core_instance_configuration').instance_details.launch_details;
    expect(launch.create_vnic_details.assign_public_ip).toBe(false);
    expect(launch.instance_options.are_legacy_imds_endpoints_disabled).toBe(true);
    expect(launch.defined_tags).toBe('${zipmap(["${var.name_prefix}.role"], ["sink"])}');
    expect(launch.metadata.vtap_archiver_role).toBe('sink');
    expect(launch.metadata.vtap_archiver_health_port).toBe(String(AGENT_HTTP_PORT));
    expect(launch.metadata.user_data).toMatch(/^\$\{filebase64\("assets\/.*\/sink\.yaml"\)\}$/);
    expect(launch.metadata.vtap_archiver_kit_url).toMatch(/oci_objectstorage_preauthrequest\..*\.full_path/);
    expect(launch.metadata.vtap_archiver_config).toContain('auth=instance-principal');
  });

  it('size flex shapes with OCPUs and memory, and give fixed shapes no shape_config', () => {
    const launch = only(synth.config, 'oci_core_instance_configuration').instance_details.launch_details;
    expect(launch.shape_config).toBeUndefined();
    expect(launch.dynamic.shape_config).toEqual({
      for_each: '${endswith(var.sink_shape, ".Flex") ? [1] : []}',
      content: { ocpus: '${var.sink_ocpus}', memory_in_gbs: '${var.sink_memory_gbs}' },
    });
    for (const instance of Object.values(synth.config.resource.oci_core_instance!)) {
      expect(instance.dynamic.shape_config.for_each).toBe('${endswith(var.demo_shape, ".Flex") ? [1] : []}');
    }
  });

  it('autoscale on CPU only when asked', () => {
    const autoscaling = only(synth.config, 'oci_autoscaling_auto_scaling_configuration');
    expect(autoscaling.count).toBe('${var.sink_autoscaling ? 1 : 0}');
    expect(autoscaling.policies[0].rules.map((r: any) => r.metric.metric_type)).toEqual(['CPU_UTILIZATION', 'CPU_UTILIZATION']);
  });
});

describe('agent config', () => {
  it('is accepted by the agent\'s own config schema', () => {
    const rendered = renderedSinkConfig(false);
    const parsed = configSchema.parse(rendered);
    expect(parsed.store).toBe('oci://ns/captures?region=eu-frankfurt-1&auth=instance-principal');
    expect(parsed.http.port).toBe(AGENT_HTTP_PORT);
    expect(parsed.spool.dir).toBe('/var/lib/vtap-archiver');
    expect(parsed.monitoring).toMatchObject({ enabled: true, namespace: 'vtap_archiver' });
  });

  it('turns the agent\'s Monitoring publishing on with agent_metrics, in the stack compartment', () => {
    const config = only(synth.config, 'oci_core_instance_configuration').instance_details.launch_details.metadata.vtap_archiver_config as string;
    expect(config).toContain('"monitoring" = {"enabled" = var.agent_metrics, "compartmentId" = var.compartment_ocid, "namespace" = "vtap_archiver", "region" = var.region}');
  });

  it('offers only decapsulation and compression values the agent accepts', () => {
    const decap = VARIABLES.find((v) => v.name === 'decapsulation')!.enum!;
    const compress = VARIABLES.find((v) => v.name === 'compression')!.enum!;
    for (const value of decap) expect(configSchema.shape.decap.safeParse(value).success, value).toBe(true);
    for (const value of compress) expect(configSchema.shape.compress.safeParse(value).success, value).toBe(true);
  });
});

describe('mirroring', () => {
  it('creates one VTAP per source, stopped unless start_vtaps, targeting the NLB with VXLAN and a per-source VNI', () => {
    const vtap = only(synth.config, 'oci_core_vtap');
    expect(vtap).toMatchObject({
      for_each: '${local.vtap_sources}',
      source_type: 'VNIC',
      source_id: '${each.value.vnic}',
      target_type: 'NETWORK_LOAD_BALANCER',
      target_id: expect.stringMatching(/oci_network_load_balancer_network_load_balancer\..*\.id/),
      encapsulation_protocol: 'VXLAN',
      vxlan_network_identifier: '${tostring(each.value.vni)}',
      is_vtap_enabled: '${var.start_vtaps}',
      lifecycle: { ignore_changes: ['is_vtap_enabled'] },
      max_packet_size: '${var.vtap_max_packet_size}',
      traffic_mode: '${var.vtap_traffic_mode}',
    });
    expect(vtap.freeform_tags).toEqual({ app: 'vtap-archiver', deployment: '${var.name_prefix}' });
    const sources = synth.config.locals.vtap_sources!;
    expect(sources).toContain('vni = var.vni_base + i');
    expect(sources).toContain('vni = var.vni_base + 10 + i');
    expect(sources).toContain('var.mirrored_vnic_ids');
    expect(VARIABLES.find((v) => v.name === 'start_vtaps')!.default).toBe(false);
  });

  it('builds one capture filter per preset from the rules data, of which exactly one is created', () => {
    const filters = Object.values(synth.config.resource.oci_core_capture_filter!);
    expect(filters).toHaveLength(Object.keys(CAPTURE_FILTER_PRESETS).length + 1);
    for (const [name, rules] of Object.entries(CAPTURE_FILTER_PRESETS)) {
      const filter = filters.find((f) => f.count === `\${var.capture_filter_preset == "${name}" ? 1 : 0}`);
      expect(filter, name).toBeDefined();
      expect(filter.filter_type).toBe('VTAP');
      expect(filter.vtap_capture_filter_rules).toHaveLength(rules.length);
      expect(rules.length).toBeLessThanOrEqual(10);
    }
    const http = filters.find((f) => f.count.includes('http-demo'));
    expect(http.vtap_capture_filter_rules[0]).toEqual({
      traffic_direction: 'EGRESS', rule_action: 'INCLUDE', protocol: '6', source_cidr: '0.0.0.0/0', destination_cidr: '0.0.0.0/0',
      tcp_options: { destination_port_range: { min: 80, max: 80 } },
    });
  });

  it('builds the custom filter from JSON rules of the same shape, with optional port ranges', () => {
    const custom = Object.values(synth.config.resource.oci_core_capture_filter!).find((f) => f.count === '${var.capture_filter_preset == "custom" ? 1 : 0}');
    const block = custom.dynamic.vtap_capture_filter_rules;
    expect(block.for_each).toBe('${jsondecode(var.capture_filter_rules_json)}');
    expect(block.content).toMatchObject({
      traffic_direction: '${vtap_capture_filter_rules.value.direction}',
      rule_action: '${try(vtap_capture_filter_rules.value.action, "INCLUDE")}',
      source_cidr: '${try(vtap_capture_filter_rules.value.sourceCidr, "0.0.0.0/0")}',
    });
    expect(block.content.dynamic.udp_options.content.dynamic.destination_port_range).toEqual({
      for_each: '${try([udp_options.value.udpDestinationPort], [])}',
      content: { min: '${destination_port_range.value}', max: '${destination_port_range.value}' },
    });
    expect(synth.config.variable.capture_filter_rules_json.validation[0].condition).toContain('<= 10');
    expect(synth.config.variable.capture_filter_rules_json.validation[0].condition).toContain('>= 1');
    expect(custom.lifecycle.precondition[0].condition).toBe('${length(jsondecode(var.capture_filter_rules_json)) >= 1 && length(jsondecode(var.capture_filter_rules_json)) <= 10}');
    expect(JSON.parse(String(VARIABLES.find((v) => v.name === 'capture_filter_rules_json')!.default)).length).toBeGreaterThanOrEqual(1);
    // The one VTAP filter id picks whichever filter exists.
    expect(only(synth.config, 'oci_core_vtap').capture_filter_id).toMatch(/^\$\{one\(concat\((oci_core_capture_filter\.[\w-]+\[\*\]\.id(, )?){3}\)\)\}$/);
  });

  it('gives demo sources an MTU of at most 8950 by default and by validation', () => {
    const mtu = VARIABLES.find((v) => v.name === 'source_mtu')!;
    expect(mtu.default).toBeLessThanOrEqual(8950);
    expect(synth.config.variable.source_mtu.validation[0].condition).toContain('var.source_mtu <= 8950');
  });
});

describe('bucket', () => {
  it('is private and auto-tiered, with an optional KMS key and retention rule', () => {
    const bucket = byPath(synth.config, 'oci_objectstorage_bucket').get('storage_bucket');
    expect(bucket).toMatchObject({ access_type: 'NoPublicAccess', auto_tiering: 'InfrequentAccess' });
    expect(bucket.kms_key_id).toBe('${var.kms_key_id == "" ? null : var.kms_key_id}');
    expect(bucket.dynamic.retention_rules.for_each).toBe('${var.retention_days > 0 ? [var.retention_days] : []}');
  });

  it('archives and deletes captures by lifecycle rules and aborts stale multipart uploads', () => {
    const rules = only(synth.config, 'oci_objectstorage_object_lifecycle_policy').rules as any[];
    expect(rules.map((r) => [r.name, r.action, r.target])).toEqual([
      ['archive-captures', 'ARCHIVE', 'objects'],
      ['delete-captures', 'DELETE', 'objects'],
      ['abort-stale-multipart', 'ABORT', 'multipart-uploads'],
    ]);
    expect(rules[0]).toMatchObject({ is_enabled: '${var.archive_after_days > 0}', time_unit: 'DAYS', object_name_filter: { inclusion_prefixes: ['${var.capture_prefix}'] } });
    expect(rules[1]).toMatchObject({ is_enabled: '${var.delete_after_days > 0}', time_amount: '${tostring(max(var.delete_after_days, 1))}' });
    expect(only(synth.config, 'oci_objectstorage_object_lifecycle_policy').lifecycle.precondition).toEqual([{
      condition: '${var.delete_after_days == 0 || var.retention_days == 0 || var.delete_after_days > var.retention_days}',
      error_message: 'delete_after_days must be 0 (never) or longer than retention_days.',
    }]);
  });

  it('serves the node kit through a read-only request for that one object', () => {
    const par = only(synth.config, 'oci_objectstorage_preauthrequest');
    expect(par.access_type).toBe('ObjectRead');
    expect(par.object_name).toMatch(/oci_objectstorage_object\..*\.object/);
    expect(par.lifecycle).toEqual({ ignore_changes: ['time_expires'] });
    const object = only(synth.config, 'oci_objectstorage_object');
    expect(object.object).toMatch(/^kit\/vtap-archiver-kit-[0-9.]+-[0-9a-f]{12}\.tar\.gz$/);
    // Its own bucket, without lifecycle or retention: replacing the kit must always be possible.
    expect(object.bucket).toMatch(/oci_objectstorage_bucket\.storage_kit-bucket_.*\.name/);
    expect(par.bucket).toBe(object.bucket);
    expect(byPath(synth.config, 'oci_objectstorage_bucket').get('storage_kit-bucket')).toMatchObject({
      name: '${var.bucket_name}-kit', access_type: 'NoPublicAccess',
    });
    expect(byPath(synth.config, 'oci_objectstorage_bucket').get('storage_kit-bucket').dynamic).toBeUndefined();
  });
});

describe('IAM', () => {
  it('matches only instances carrying the sink role tag in the stack compartment', () => {
    const group = only(synth.config, 'oci_identity_dynamic_group');
    expect(group.compartment_id).toBe('${var.tenancy_ocid}');
    expect(group.matching_rule).toMatch(/^All \{instance\.compartment\.id = '\$\{var\.compartment_ocid\}', tag\.\$\{oci_identity_tag_namespace\..*\.name\}\.\$\{oci_identity_tag\..*\.name\}\.value = 'sink'\}$/);
  });

  it('lets sinks create and inspect objects in this bucket only; overwrite only for multipart calls; no read or delete', () => {
    const statements = byPath(synth.config, 'oci_identity_policy').get('iam_policy').statements as string;
    const sinkStatements = [...statements.matchAll(/"(Allow dynamic-group [^"]*)"/g)].map((m) => m[1]!).filter((st) => !st.includes(' to use metrics ') && !st.includes(' to use capture-filters '));
    expect(sinkStatements).toHaveLength(2);
    for (const statement of sinkStatements) {
      // By the variable: the policy must not wait for the bucket, which (with a key) waits for IAM.
      expect(statement).toMatch(/^Allow dynamic-group \$\{oci_identity_dynamic_group\..*\.name\} to manage objects in compartment id \$\{var\.compartment_ocid\} where all \{target\.bucket\.name = '\$\{var\.bucket_name\}', /);
      expect(statement).not.toMatch(/OBJECT_(READ|DELETE|VERSION_DELETE)|object-family|buckets/);
    }
    expect(sinkStatements[0]).toMatch(/, any \{request\.permission = 'OBJECT_CREATE', request\.permission = 'OBJECT_INSPECT'\}\}$/);
    expect(sinkStatements[1]).toMatch(/, request\.permission = 'OBJECT_OVERWRITE', any \{request\.operation = 'CreateMultipartUpload', request\.operation = 'UploadPart', request\.operation = 'CommitMultipartUpload'\}\}$/);
    expect(statements).toContain('Allow service objectstorage-${var.region} to manage object-family');
    expect(statements).not.toContain('keys');
    expect(statements).not.toContain('oci_objectstorage_bucket');
  });

  it('lets sinks post metrics only in the agent\'s namespace, and only with agent_metrics', () => {
    const statements = byPath(synth.config, 'oci_identity_policy').get('iam_policy').statements as string;
    expect(statements).toMatch(/var\.agent_metrics \? \["Allow dynamic-group \$\{oci_identity_dynamic_group\.[^}]+\.name\} to use metrics in compartment id \$\{var\.compartment_ocid\} where target\.metrics\.namespace = 'vtap_archiver'"\] : \[\]/);
  });

  it('grants the customer key in its own policy, attached where the key lives', () => {
    const kms = byPath(synth.config, 'oci_identity_policy').get('iam_kms-policy');
    expect(kms.count).toBe('${var.kms_key_id == "" ? 0 : 1}');
    expect(kms.provider).toBe('oci.home');
    expect(kms.compartment_id).toBe('${var.kms_key_compartment_ocid == "" ? var.tenancy_ocid : var.kms_key_compartment_ocid}');
    expect(kms.statements).toEqual(["Allow service objectstorage-${var.region} to use keys in ${var.kms_key_compartment_ocid == \"\" ? \"tenancy\" : \"compartment id ${var.kms_key_compartment_ocid}\"} where target.key.id = '${var.kms_key_id}'"]);
  });
});

describe('alarms', () => {
  const alarms = () => byPath(synth.config, 'oci_monitoring_alarm');

  it('are on when an e-mail or a topic is given (unless create_alarms is off), with a topic and an e-mail subscription', () => {
    expect(synth.config.locals.alarms_on).toBe('${var.create_alarms && (var.alarm_email != "" || var.alarm_topic_id != "")}');
    expect(only(synth.config, 'oci_ons_notification_topic').count).toBe('${local.alarms_on && var.alarm_topic_id == "" ? 1 : 0}');
    expect(only(synth.config, 'oci_ons_subscription')).toMatchObject({
      count: '${local.alarms_on && var.alarm_email != "" ? 1 : 0}', protocol: 'EMAIL', endpoint: '${var.alarm_email}',
    });
    expect(VARIABLES.find((v) => v.name === 'create_alarms')!.default).toBe(true);
    expect(VARIABLES.find((v) => v.name === 'alarm_email')!.default).toBe('');
  });

  it('watch NLB backend health (any, all), sink CPU, connection tracking and, with agent_metrics, the agent', () => {
    const byKey = alarms();
    expect([...byKey.keys()].sort()).toEqual(['alarms_conntrack', 'alarms_evictions', 'alarms_kernel-drops', 'alarms_no-healthy-sink', 'alarms_sink-cpu', 'alarms_sink-unhealthy', 'alarms_upload-age']);
    expect(byKey.get('alarms_sink-unhealthy')).toMatchObject({ namespace: 'oci_nlb', query: expect.stringMatching(/^UnhealthyBackendsPerNlb\[1m\]\{resourceId = "\$\{oci_network_load_balancer_network_load_balancer\.[^}]+\.id\}"\}\.max\(\) > 0$/) });
    expect(byKey.get('alarms_no-healthy-sink')).toMatchObject({ namespace: 'oci_nlb', severity: 'CRITICAL', query: expect.stringMatching(/^HealthyBackendsPerNlb\[1m\].*\.max\(\) < 1$/) });
    expect(byKey.get('alarms_sink-cpu').query).toMatch(/^CpuUtilization\[1m\]\{instancePoolId = "\$\{one\(concat\(.*\)\)\}"\}\.max\(\) > \$\{var\.alarm_sink_cpu_percent\}$/);
    expect(byKey.get('alarms_conntrack')).toMatchObject({ namespace: 'oci_vcn', query: 'VnicConntrackUtilPercent[1m].max() > 80' });
    expect(byKey.get('alarms_upload-age').query).toBe('SecondsSinceLastUpload[1m].max() > ${var.alarm_upload_age_minutes * 60}');
    for (const [key, alarm] of byKey) {
      const agent = alarm.namespace === AGENT_METRICS_NAMESPACE;
      expect(alarm.count, key).toBe(agent ? '${local.alarms_on && var.agent_metrics ? 1 : 0}' : '${local.alarms_on ? 1 : 0}');
      expect(alarm.destinations, key).toEqual([expect.stringMatching(/^\$\{var\.alarm_topic_id != "" \? var\.alarm_topic_id : one\(oci_ons_notification_topic\./)]);
      expect(alarm.metric_compartment_id, key).toBe('${var.compartment_ocid}');
    }
  });

  it('on the agent\'s figures name only metrics the agent publishes', () => {
    const published = new Set<string>(Object.values(OCI_METRIC_NAMES));
    const agentAlarms = alarmSpecs('nlb', 'pool', '1800', '85').filter((spec) => spec.origin === 'agent');
    expect(agentAlarms.map((spec) => spec.key).sort()).toEqual(['evictions', 'kernel-drops', 'upload-age']);
    for (const spec of agentAlarms) expect(published, spec.query).toContain(spec.query.match(/^(\w+)\[/)![1]);
  });
});

describe('outputs', () => {
  it('include the NLB IP, bucket, namespace, pool, jump host and the next commands', () => {
    expect(Object.keys(synth.config.output).sort()).toEqual(['bucket', 'jump_host_public_ip', 'namespace', 'next_commands', 'nlb_private_ip', 'sink_pool_id', 'vtap_ids']);
    const next = synth.config.output.next_commands.value as string;
    expect(next).toContain('vtap-archiver vtaps start --region ${var.region} --compartment ${var.compartment_ocid} --deployment ${var.name_prefix}');
    expect(next).toContain('journalctl -u vtap-archiver -f');
    // start_vtaps only applies at creation (Terraform ignores is_vtap_enabled), so no "apply again".
    expect(next).not.toContain('apply again');
    expect(next).toContain('oci network vtap update --vtap-id <vtap-ocid> --is-vtap-enabled true --region ${var.region}');
    expect(next).toContain('oci os object list');
  });

  it('declare every variable with its description, exactly once', () => {
    expect(Object.keys(synth.config.variable).sort()).toEqual(VARIABLES.map((v) => v.name).sort());
    for (const spec of VARIABLES) expect(synth.config.variable[spec.name].description).toBe(spec.description);
  });
});
