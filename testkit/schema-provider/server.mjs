#!/usr/bin/env node
// A Terraform provider that knows only a schema: it serves a `terraform providers schema -json`
// file (argv[2]) over plugin protocol 5 and accepts every configuration, so that the real
// `terraform validate` and `terraform plan` can check a configuration against the schema offline,
// where the real provider cannot be downloaded. It speaks the go-plugin handshake with automatic
// mutual TLS. For plan it behaves like any provider before apply: data sources return their
// configuration with computed attributes filled with placeholders (one element for lists, so
// `[0]` works), and planned resources keep their configuration with computed attributes unknown.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { decode, encode, ExtensionCodec } from '@msgpack/msgpack';

const here = dirname(fileURLToPath(import.meta.url));
const [, , schemaPath, source = 'registry.terraform.io/oracle/oci'] = process.argv;
const schemaFile = JSON.parse(readFileSync(schemaPath, 'utf8'));
const providerSchema = schemaFile.provider_schemas[source];
if (!providerSchema) throw new Error(`no schema for ${source} in ${schemaPath}`);

function block(b) {
  return {
    version: 0,
    attributes: Object.entries(b.attributes ?? {}).map(([name, a]) => ({
      name,
      type: Buffer.from(JSON.stringify(a.type)),
      required: Boolean(a.required),
      optional: Boolean(a.optional),
      computed: Boolean(a.computed),
      sensitive: Boolean(a.sensitive),
      deprecated: Boolean(a.deprecated),
    })),
    block_types: Object.entries(b.block_types ?? {}).map(([name, t]) => ({
      type_name: name,
      block: block(t.block),
      nesting: t.nesting_mode.toUpperCase(),
      min_items: t.min_items ?? 0,
      max_items: t.max_items ?? 0,
    })),
    deprecated: Boolean(b.deprecated),
  };
}
const schema = (s) => ({ version: s.version ?? 0, block: block(s.block) });
const mapSchemas = (m) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, schema(v)]));
const schemaResponse = {
  provider: schema(providerSchema.provider),
  resource_schemas: mapSchemas(providerSchema.resource_schemas),
  data_source_schemas: mapSchemas(providerSchema.data_source_schemas),
  diagnostics: [],
};

// cty's msgpack encoding marks an unknown value as extension 0 (12 when it carries refinements).
const UNKNOWN = Symbol('unknown');
const codec = new ExtensionCodec();
codec.register({ type: 0, encode: (v) => (v === UNKNOWN ? new Uint8Array(0) : null), decode: () => UNKNOWN });
codec.register({ type: 12, encode: () => null, decode: () => UNKNOWN });
const unpack = (dynamic) => decode(dynamic.msgpack, { extensionCodec: codec });
const pack = (value) => ({ msgpack: Buffer.from(encode(value, { extensionCodec: codec, ignoreUndefined: false })) });

/** A placeholder of a cty type: what a data source might have read. */
function placeholder(type) {
  if (type === 'string') return 'placeholder';
  if (type === 'number') return 1;
  if (type === 'bool') return false;
  const [kind, inner] = type;
  if (kind === 'list' || kind === 'set') return [placeholder(inner)];
  if (kind === 'map') return {};
  if (kind === 'object') return Object.fromEntries(Object.entries(inner).map(([k, t]) => [k, placeholder(t)]));
  return null;
}

/** Walks a value of a block; `fill` decides what a null computed attribute becomes. */
function complete(b, value, fill) {
  if (value === null || value === UNKNOWN) return value;
  const out = { ...value };
  for (const [name, a] of Object.entries(b.attributes ?? {})) {
    if (a.computed && (out[name] === null || out[name] === undefined)) out[name] = fill(a.type);
  }
  for (const [name, t] of Object.entries(b.block_types ?? {})) {
    const v = out[name];
    if (Array.isArray(v)) out[name] = v.map((item) => complete(t.block, item, fill));
    else if (v && typeof v === 'object' && t.nesting_mode === 'map') out[name] = Object.fromEntries(Object.entries(v).map(([k, item]) => [k, complete(t.block, item, fill)]));
    else if (v && typeof v === 'object') out[name] = complete(t.block, v, fill);
  }
  return out;
}

const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(join(here, file), { keepCase: true, longs: Number, enums: String, defaults: true }));
const tfplugin5 = load('tfplugin5-subset.proto').tfplugin5;
const health = load('health.proto').grpc.health.v1;
const controller = load('controller.proto').plugin;

// go-plugin's automatic mTLS: the client's certificate arrives in PLUGIN_CLIENT_CERT, ours goes
// back in the handshake line; both are self-signed CA certificates for "localhost".
const dir = mkdtempSync(join(tmpdir(), 'schema-provider-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
  '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  '-addext', 'subjectAltName=DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE',
  '-addext', 'keyUsage=digitalSignature,keyEncipherment,keyAgreement,keyCertSign',
  '-addext', 'extendedKeyUsage=serverAuth,clientAuth'], { stdio: 'ignore' });
const certPem = readFileSync(join(dir, 'cert.pem'));
const keyPem = readFileSync(join(dir, 'key.pem'));
rmSync(dir, { recursive: true, force: true });
const clientCert = process.env.PLUGIN_CLIENT_CERT;
const credentials = clientCert
  ? grpc.ServerCredentials.createSsl(Buffer.from(clientCert), [{ private_key: keyPem, cert_chain: certPem }], true)
  : grpc.ServerCredentials.createInsecure();

const ok = (response) => (_call, callback) => callback(null, response);
const server = new grpc.Server();
server.addService(tfplugin5.Provider.service, {
  GetSchema: ok(schemaResponse),
  PrepareProviderConfig: (call, callback) => callback(null, { prepared_config: call.request.config, diagnostics: [] }),
  ValidateResourceTypeConfig: ok({ diagnostics: [] }),
  ValidateDataSourceConfig: ok({ diagnostics: [] }),
  Configure: ok({ diagnostics: [] }),
  ReadDataSource: (call, callback) => {
    const ds = providerSchema.data_source_schemas[call.request.type_name];
    const state = complete(ds.block, unpack(call.request.config), placeholder);
    callback(null, { state: pack(state), diagnostics: [] });
  },
  PlanResourceChange: (call, callback) => {
    const rs = providerSchema.resource_schemas[call.request.type_name];
    const proposed = unpack(call.request.proposed_new_state);
    // Like the real (SDKv2) provider: computed attributes nobody set are known only after apply.
    const planned = complete(rs.block, proposed, () => UNKNOWN);
    callback(null, { planned_state: pack(planned), planned_private: Buffer.alloc(0), diagnostics: [], legacy_type_system: true });
  },
  Stop: ok({ Error: '' }),
});
server.addService(health.Health.service, { Check: ok({ status: 'SERVING' }) });
server.addService(controller.GRPCController.service, {
  Shutdown: (_call, callback) => {
    callback(null, {});
    // Give the reply a moment on the wire, then go: the client has finished with us.
    setTimeout(() => process.exit(0), 20);
  },
});
server.bindAsync('127.0.0.1:0', credentials, (error, port) => {
  if (error) throw error;
  const der = new X509Certificate(certPem).raw.toString('base64').replace(/=+$/, '');
  process.stdout.write(`1|5|tcp|127.0.0.1:${port}|grpc${clientCert ? `|${der}` : ''}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
// Terraform does not always ask every plugin instance to shut down; never outlive it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 200).unref();
