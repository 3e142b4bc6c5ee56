#!/usr/bin/env node
// A Terraform provider that knows only a schema: it serves a `terraform providers schema -json`
// file (argv[2]) over plugin protocol 5 and accepts every configuration, so that the real
// `terraform validate` can check a configuration against the schema offline, where the real
// provider cannot be downloaded. It speaks the go-plugin handshake with automatic mutual TLS.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

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

const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(join(here, file), { keepCase: true, longs: Number, enums: String, defaults: true }));
const tfplugin5 = load('tfplugin5-subset.proto').tfplugin5;
const health = load('health.proto').grpc.health.v1;

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
  Stop: ok({ Error: '' }),
});
server.addService(health.Health.service, { Check: ok({ status: 'SERVING' }) });
server.bindAsync('127.0.0.1:0', credentials, (error, port) => {
  if (error) throw error;
  const der = new X509Certificate(certPem).raw.toString('base64').replace(/=+$/, '');
  process.stdout.write(`1|5|tcp|127.0.0.1:${port}|grpc${clientCert ? `|${der}` : ''}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.forceShutdown() || process.exit(0));
