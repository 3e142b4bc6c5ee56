/** `vtap-archiver run`: the sink agent (what vtap-archiver.service starts). */
import type { Command } from 'commander';
import { CODEC_DEFAULT } from '../archive/defaults.js';
import type { ConfigOverrides } from '../daemon/config.js';
import { UsageError } from '../usage-error.js';

interface RunFlags {
  config?: string;
  store?: string;
  interface?: string;
  spoolDir?: string;
  sink?: string;
  httpPort?: string;
  httpHost?: string;
  compress?: string;
  checkConfig?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the sink agent: capture mirrored traffic, spool, decapsulate, compress and upload it')
    .option('-c, --config <path>', 'JSON configuration file (default /etc/vtap-archiver/config.json if present)')
    .option('--store <url>', 'file:// URL, directory or oci://<namespace>/<bucket>?region=..')
    .option('--interface <name>', 'capture interface ("auto": the default route\'s)')
    .option('--spool-dir <dir>', 'spool and state directory')
    .option('--sink <name>', 'this sink\'s name in object names, normalised: Sink_A -> sink-a (default: the host name up to the first dot)')
    .option('--http-port <port>', 'health and metrics port (default 9780)')
    .option('--http-host <host>', 'health and metrics address (default 0.0.0.0)')
    .option('--compress <codec>', `zstd or gzip (default ${CODEC_DEFAULT.run}; gzip objects open in Wireshark 4.0, zstd ones need 4.4)`)
    .option('--check-config', 'validate the configuration, print it with defaults filled in, and exit')
    .action(async (flags: RunFlags) => {
      const overrides: ConfigOverrides = {};
      if (flags.store) overrides.store = flags.store;
      if (flags.interface) overrides.interface = flags.interface;
      if (flags.spoolDir) overrides.spoolDir = flags.spoolDir;
      if (flags.sink) overrides.sink = flags.sink;
      if (flags.httpHost) overrides.httpHost = flags.httpHost;
      if (flags.compress) overrides.compress = flags.compress;
      if (flags.httpPort !== undefined) {
        if (!/^\d+$/.test(flags.httpPort)) throw new UsageError(`--http-port: expected a port number, got "${flags.httpPort}"`);
        overrides.httpPort = Number(flags.httpPort);
      }
      // Loaded here, not at the top: every other command starts without the daemon's modules.
      const [{ loadConfig }, { Daemon }, { createLogger }, { abortOwnStaleUploads }, { openStore, validateStoreUrl }, { packCapture }, { preflight }, { LocalDirectoryStore }] = await Promise.all([
        import('../daemon/config.js'),
        import('../daemon/daemon.js'),
        import('../daemon/logger.js'),
        import('../daemon/stale-uploads.js'),
        import('../store/open.js'),
        import('../archive/pack.js'),
        import('../daemon/preflight.js'),
        import('../store/local.js'),
      ]);
      const config = loadConfig({ ...(flags.config ? { path: flags.config } : {}), overrides });
      if (flags.checkConfig) {
        process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
        return;
      }
      // A sink archives to a store someone looks at: a default here would quietly fill the VM's disk.
      const storeUrl = config.store;
      if (storeUrl === undefined) throw new UsageError('config: store: required (oci://<namespace>/<bucket>?region=.., a directory or a file:// URL)');
      await validateStoreUrl(storeUrl);
      preflight(config);
      const logger = createLogger();
      const daemon = new Daemon({ ...config, store: storeUrl }, {
        // Opened in the background, retried until it works: capture never waits for the store.
        // The OCI store reports retries and refusals through the agent's own log, not the SDK's console.
        openStore: () => openStore(storeUrl, { oci: { logger: ({ level, msg, ...fields }) => logger[level](fields, msg) } }),
        onStoreOpen: async (store) => {
          await abortOwnStaleUploads(store, config, logger);
          if (store instanceof LocalDirectoryStore) {
            const removed = await store.removeStaleTempFiles();
            if (removed > 0) logger.info({ removed, store: store.location }, 'removed temp files an interrupted put left in the store');
          }
        },
        packer: packCapture,
        logger,
      });
      let stopping: Promise<void> | undefined;
      const stopped = new Promise<void>((resolve, reject) => {
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, 'already stopping: finishing the spool first (SIGKILL aborts, the spool recovers at next start)');
            return;
          }
          stopping = daemon.stop(`received ${signal}`).then(resolve, reject);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      try {
        await daemon.start();
      } catch (error) {
        // A UsageError (the port, say) is printed by the CLI as its one line; the log says it too.
        logger.fatal(`cannot start: ${(error as Error).message}`);
        await daemon.stop('start-up failed').catch(() => undefined);
        throw error;
      }
      // OCI Monitoring (off unless config.monitoring.enabled): reads the same registry as /metrics.
      const monitoring = await (await import('../daemon/monitoring.js')).startMonitoring(config, daemon.metrics.registry, logger);
      // Optional capture-filter expiry sweep and endpoint (config captureFilter.*, off by default).
      const { startCaptureFilterServices } = await import('../vtaps/agent-services.js');
      const stopFilterServices = await startCaptureFilterServices(config.captureFilter, logger).catch(async (error: Error) => {
        logger.fatal(`cannot start the capture-filter services: ${error.message}`);
        await monitoring?.stop();
        await daemon.stop('start-up failed').catch(() => undefined);
        throw error;
      });
      await stopped;
      await monitoring?.stop();
      await stopFilterServices();
      // The spool is consistent now. A store still being opened (SDK retries during an outage) must
      // not hold the process for its whole retry budget.
      setTimeout(() => process.exit(), 2000).unref();
    });
}
