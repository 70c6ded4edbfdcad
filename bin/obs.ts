/**
 * The `obs` command. Each command loads its modules when it runs: `obs agent` runs on every node and
 * must stay small, so it must not load the hub's graph (DuckDB, express, socket.io, the engines'
 * clients), which costs well over 100 MB.
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import type { ConfigFlags } from '../core/config.ts';
import { isHubError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const program = new Command();
program.name('obs').description('Metrics, alerts and tracing hub for a Mesos/Marathon/Docker PaaS');

program
  .command('hub')
  .description('run the hub: ingest, stores, APIs and pages, with an agent for this machine')
  .option('--config <file>', 'YAML config file (env OBS_CONFIG)')
  .option('--host <address>', 'address to bind (env OBS_HOST, default 127.0.0.1)')
  .option('--port <port>', 'HTTP port (env OBS_PORT, default 7070)')
  .option('--telnet-port <port>', 'OpenTSDB telnet port (env OBS_TELNET_PORT, default 4242)')
  .option('--data-dir <dir>', 'where data is kept (env OBS_DATA_DIR, default ./data)')
  .option('--log-level <level>', 'debug, info, warn or error (env OBS_LOG_LEVEL)')
  .option('--no-agent', 'do not run the agent for this machine')
  .option('--rules <dir>', 'a folder of alert rule files, reloaded on change and on SIGHUP (env OBS_RULES)')
  .option('--bus <kind>', 'embedded (default) or kafka')
  .option('--kafka-brokers <list>', 'comma-separated Kafka bootstrap brokers (default 127.0.0.1:9092)')
  .option('--metric-store <kind>', 'embedded (default) or opentsdb')
  .option('--opentsdb-url <url>', 'an OpenTSDB-compatible server (OpenTSDB, VictoriaMetrics)')
  .option('--span-store <kind>', 'embedded (default), opensearch or elasticsearch')
  .option('--elastic-url <url>', 'the OpenSearch or Elasticsearch node (default http://127.0.0.1:9200)')
  .option('--orchestrator <name>', 'marathon, chronos or docker; repeatable (none: advice only)', collect)
  .option('--marathon-url <url>', "Marathon's URL (implies --orchestrator marathon)")
  .option('--chronos-url <url>', "Chronos' URL (implies --orchestrator chronos)")
  .option(
    '--docker-host <url>',
    'a Docker Engine API, unix:///var/run/docker.sock (implies --orchestrator docker)',
  )
  .option('--autoscale-interval <duration>', 'how often health, advice and autoscaling run (default 15s)')
  .action(async (flags: ConfigFlags) => {
    const [{ loadConfig }, { startHub }] = await Promise.all([
      import('../core/config.ts'),
      import('./hub.ts'),
    ]);
    const config = loadConfig({ flags });
    const logger = createLogger({ level: config.logLevel });
    const hub = await startHub(config, { logger });
    logger.info('hub started', { url: hub.url, telnetPort: hub.telnetPort, dataDir: config.dataDir });
    process.stdout.write(
      `obs hub is running at ${hub.url}  (OpenTSDB telnet on port ${hub.telnetPort}, data in ${config.dataDir})\n`,
    );
    if (!hub.authRequired())
      process.stdout.write(
        'No users yet: anyone on this machine may read and write without logging in. ' +
          `Create an admin with: obs users add NAME --admin --data-dir ${config.dataDir}\n`,
      );
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('stopping', { signal });
      hub.close().then(
        () => process.exit(0),
        (e) => {
          logger.error('stop failed', { err: e });
          process.exit(1);
        },
      );
    };
    process.on('SIGHUP', () => {
      void hub.rules.reload().then((errors) => logger.info('rules reloaded', { errors: errors.length }));
    });
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('agent')
  .description(
    'the ares agent: sample this node (host, containers) and ship to a hub, spooling while it is away',
  )
  .option('--hub <url>', 'the hub to ship to (env OBS_HUB)')
  .option('--token <token>', 'a token with the ingest scope (env OBS_TOKEN)')
  .option('--interval <duration>', 'sampling interval, e.g. 10s')
  .option('--tag <key=value>', 'a tag on every point (dc, cluster, host); repeatable', collect)
  .option('--cgroup-root <dir>', 'where the cgroup hierarchies are mounted (default /sys/fs/cgroup)')
  .option(
    '--docker <url>',
    'Docker Engine API for container names and labels, e.g. unix:///var/run/docker.sock',
  )
  .option('--nginx-log <path>', 'an nginx access log to tail; repeatable', collect)
  .option('--nginx-format <format>', "nginx's log_format string, or combined / platform (default platform)")
  .option('--spool-dir <dir>', 'where batches wait while the hub is unreachable (default DATA_DIR/spool)')
  .option('--spool-max-bytes <n>', 'spool size; the oldest batches go when it is full')
  .option('--data-dir <dir>', 'where the agent keeps its state (env OBS_DATA_DIR)')
  .option('--config <file>', 'YAML config file (env OBS_CONFIG)')
  .option('--log-level <level>', 'debug, info, warn or error')
  .action(async (flags: ConfigFlags) => {
    // V8 grows its young generation (to 3 × 16 MiB) when the agent's batches survive a scavenge;
    // kept at its first 1 MiB semi-space the agent stays ~30 MB smaller for a few more, cheap,
    // scavenges. (The growth factor is read at each growth, so it can still be set here.)
    setFlagsFromString('--semi-space-growth-factor=1');
    const [{ loadConfig }, { startAgent }] = await Promise.all([
      import('../core/config.ts'),
      import('./agent.ts'),
    ]);
    const config = loadConfig({ flags });
    const logger = createLogger({ level: config.logLevel });
    const agent = await startAgent(config, { logger });
    process.stdout.write(`obs agent is shipping to ${config.agent.hub} every ${config.agent.interval} ms\n`);
    // The sampling timers do not hold the process open (tests embed them); this one does.
    const keepAlive = setInterval(() => {}, 3_600_000);
    const stop = (signal: string) => {
      logger.info('stopping', { signal, ...agent.shipper.stats() });
      agent.stop();
      clearInterval(keepAlive);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('check-nginx')
  .description('parse an nginx access log with a log_format and report what parses, what fails and why')
  .argument('<file>')
  .requiredOption('--log-format <format>', "nginx's log_format string, or combined / platform")
  .option('--json', 'one JSON object instead of text')
  .action(async (file: string, o: { logFormat: string; json?: boolean }) => {
    const { runCheckNginx } = await import('../collector/nginx/check-nginx.ts');
    process.exitCode = await runCheckNginx(
      { format: o.logFormat, file, json: o.json === true },
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
  });

// The rule and identity commands are defined by modules that load more (the identity store, the
// hub's paths); they are left out when the command line names a command defined above.
if (!['hub', 'agent', 'check-nginx'].includes(process.argv[2] ?? '')) {
  const [{ registerRuleCommands }, { registerIdentityCommands }] = await Promise.all([
    import('../alerting/rules/cli.ts'),
    import('./identity-commands.ts'),
  ]);
  registerRuleCommands(program, (line) => process.stdout.write(line + '\n'));
  registerIdentityCommands(program, (line) => process.stdout.write(line + '\n'));
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isHubError(e)) process.stderr.write(`obs: ${e.message}\n`);
  else process.stderr.write(`obs: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
