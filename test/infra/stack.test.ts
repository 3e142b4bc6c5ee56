import { Testing } from 'cdktf';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../agent/daemon/config.js';
import { agentConfig, AGENT_HTTP_PORT } from '../../infra/agent-config.js';
import { CAPTURE_FILTER_PRESETS } from '../../infra/capture-filters.js';
import { OCI_PROVIDER_VERSION } from '../../infra/stack.js';
import { VARIABLES } from '../../infra/variables.js';
import { byPath, only, synthesize, type Synthesized } from './helpers.js';

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
      expect(only(synth.config, type).provider, type).toBe('oci.home');
    }
  });
});

describe('network security groups', () => {
  it('admits encapsulated UDP from the VCN to the NLB and the sinks, one rule per port', () => {
    const rules = byPath(synth.config, 'oci_core_network_security_group_security_rule');
    for (const path of ['security_nlb-encap-in', 'security_sinks-encap-in']) {
      const rule = rules.get(path);
      expect(rule, path).toMatchObject({
        direction: 'INGRESS', protocol: UDP, source: '${var.vcn_cidr}', source_type: 'CIDR_BLOCK',
        for_each: '${toset(local.encapsulation_port_strings)}',
        udp_options: { destination_port_range: { min: '${each.value}', max: '${each.value}' } },
      });
    }
    expect(synth.config.locals.encapsulation_port_strings).toBe('${[for port in var.encapsulation_ports : tostring(port)]}');
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
});

describe('sinks', () => {
  it('attach their pool to the NLB backend set on the VXLAN port', () => {
    const pool = only(synth.config, 'oci_core_instance_pool');
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
    const rendered = agentConfig({
      namespace: 'ns', bucket: 'captures', region: 'eu-frankfurt-1', prefix: 'captures/', decap: 'vxlan',
      compress: 'zstd', vxlanPorts: [4789], spoolQuotaMegabytes: 40000,
    });
    const parsed = configSchema.parse(rendered);
    expect(parsed.store).toBe('oci://ns/captures?region=eu-frankfurt-1&auth=instance-principal');
    expect(parsed.http.port).toBe(AGENT_HTTP_PORT);
    expect(parsed.spool.dir).toBe('/var/lib/vtap-archiver');
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
    const statements = only(synth.config, 'oci_identity_policy').statements as string;
    const sinkStatements = [...statements.matchAll(/"(Allow dynamic-group [^"]*)"/g)].map((m) => m[1]!);
    expect(sinkStatements).toHaveLength(2);
    for (const statement of sinkStatements) {
      expect(statement).toMatch(/^Allow dynamic-group \$\{oci_identity_dynamic_group\..*\.name\} to manage objects in compartment id \$\{var\.compartment_ocid\} where all \{target\.bucket\.name = '\$\{oci_objectstorage_bucket\.[^}]*\.name\}', /);
      expect(statement).not.toMatch(/OBJECT_(READ|DELETE|VERSION_DELETE)|object-family|buckets/);
    }
    expect(sinkStatements[0]).toMatch(/, any \{request\.permission = 'OBJECT_CREATE', request\.permission = 'OBJECT_INSPECT'\}\}$/);
    expect(sinkStatements[1]).toMatch(/, request\.permission = 'OBJECT_OVERWRITE', any \{request\.operation = 'CreateMultipartUpload', request\.operation = 'UploadPart', request\.operation = 'CommitMultipartUpload'\}\}$/);
    expect(statements).toContain('Allow service objectstorage-${var.region} to manage object-family');
    expect(statements).toContain('var.kms_key_id == "" ? [] :');
  });
});

describe('outputs', () => {
  it('include the NLB IP, bucket, namespace, pool, jump host and the next commands', () => {
    expect(Object.keys(synth.config.output).sort()).toEqual(['bucket', 'jump_host_public_ip', 'namespace', 'next_commands', 'nlb_private_ip', 'sink_pool_id', 'vtap_ids']);
    const next = synth.config.output.next_commands.value as string;
    expect(next).toContain('vtap-archiver vtaps start --region ${var.region} --compartment ${var.compartment_ocid} --deployment ${var.name_prefix}');
    expect(next).toContain('journalctl -u vtap-archiver -f');
    expect(next).toContain('oci os object list');
  });

  it('declare every variable with its description, exactly once', () => {
    expect(Object.keys(synth.config.variable).sort()).toEqual(VARIABLES.map((v) => v.name).sort());
    for (const spec of VARIABLES) expect(synth.config.variable[spec.name].description).toBe(spec.description);
  });
});
