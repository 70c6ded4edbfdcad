import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { HubError } from './errors.ts';

const file = (text: string) => () => text;

describe('loadConfig', () => {
  it('has sane defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.port).toBe(7070);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('./data');
    expect(c.telnetPort).toBe(4242);
    expect(c.store.hotWindow).toBe(7_200_000);
    expect(c.agent.tags['host']).toBeTruthy();
  });

  it('takes flags over environment over file over defaults', () => {
    const readFile = file('port: 1000\ndataDir: /from-file\ntelnetPort: 1001\nstore:\n  hotWindow: 30m\n');
    const env = { OBS_CONFIG: 'obs.yaml', OBS_PORT: '2000', OBS_DATA_DIR: '/from-env' };
    const c = loadConfig({ env, readFile, flags: { port: '3000' } });
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe('/from-env');
    expect(c.telnetPort).toBe(1001);
    expect(c.store.hotWindow).toBe(1_800_000);
  });

  it('turns the local agent off with --no-agent, keeping the file agent settings', () => {
    const c = loadConfig({
      env: {},
      flags: { config: 'a.yaml', agent: false },
      readFile: file('agent:\n  interval: 5s\n'),
    });
    expect(c.agent.enabled).toBe(false);
    expect(c.agent.interval).toBe(5000);
  });

  it('takes the agent flags and OBS_HUB / OBS_TOKEN into the agent section', () => {
    const c = loadConfig({
      env: { OBS_HUB: 'http://hub:7070', OBS_TOKEN: 'obs_x' },
      flags: { interval: '10s', tag: ['dc=par1', 'cluster=c2'], spoolMaxBytes: '1000000', cgroupRoot: '/cg' },
    });
    expect(c.agent).toMatchObject({
      hub: 'http://hub:7070',
      token: 'obs_x',
      interval: 10_000,
      spoolMaxBytes: 1_000_000,
      cgroupRoot: '/cg',
    });
    expect(c.agent.tags).toMatchObject({ dc: 'par1', cluster: 'c2' });
    expect(() => loadConfig({ env: {}, flags: { tag: ['nodc'] } })).toThrow(/Invalid --tag "nodc"/);
  });

  it('names the bad setting', () => {
    expect(() => loadConfig({ env: { OBS_PORT: 'seventy' } })).toThrow(/Invalid setting port/);
    expect(() =>
      loadConfig({ env: {}, flags: { config: 'x.yaml' }, readFile: file('store:\n  hotWindow: 2 hours\n') }),
    ).toThrow(/store\.hotWindow.*Invalid duration/);
    expect(() =>
      loadConfig({ env: {}, flags: { config: 'x.yaml' }, readFile: file('colour: blue\n') }),
    ).toThrow(HubError);
  });

  it('says when the config file cannot be read or parsed', () => {
    const missing = () => {
      throw new Error('ENOENT: no such file');
    };
    expect(() => loadConfig({ env: {}, flags: { config: 'gone.yaml' }, readFile: missing })).toThrow(
      /Cannot read config file gone.yaml/,
    );
    expect(() =>
      loadConfig({ env: {}, flags: { config: 'bad.yaml' }, readFile: file('port: [1,\n') }),
    ).toThrow(/not valid YAML/);
  });

  it('takes the scale-out engines from flags over the file, keeping the file settings beside them', () => {
    const c = loadConfig({
      env: {},
      flags: {
        config: 'a.yaml',
        bus: 'kafka',
        kafkaBrokers: 'k1:9092, k2:9092',
        metricStore: 'opentsdb',
        spanStore: 'opensearch',
        elasticUrl: 'http://os:9200',
      },
      readFile: file('bus:\n  kafka:\n    partitions: 12\nstore:\n  opentsdb:\n    url: http://vm:4242\n'),
    });
    expect(c.bus.kind).toBe('kafka');
    expect(c.bus.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.bus.kafka.partitions).toBe(12);
    expect(c.store.kind).toBe('opentsdb');
    expect(c.store.opentsdb.url).toBe('http://vm:4242');
    expect(c.tracing.store).toBe('opensearch');
    expect(c.tracing.elastic.url).toBe('http://os:9200');
  });

  it('enables an orchestrator from its URL flag, and names the missing URL otherwise', () => {
    const c = loadConfig({
      env: {},
      flags: { marathonUrl: 'http://marathon:8080', autoscaleInterval: '30s' },
    });
    expect(c.platform.marathon?.url).toBe('http://marathon:8080');
    expect(c.platform.marathon?.forceOnLock).toBe(false);
    expect(c.platform.autoscaleInterval).toBe(30_000);
    expect(c.platform.chronos).toBeUndefined();
    expect(() => loadConfig({ env: {}, flags: { orchestrator: ['chronos'] } })).toThrow(/--chronos-url/);
    expect(() => loadConfig({ env: {}, flags: { orchestrator: ['nomad'] } })).toThrow(
      /marathon, chronos or docker/,
    );
    const d = loadConfig({ env: {}, flags: { orchestrator: ['docker'] } });
    expect(d.platform.docker?.host).toBe('unix:///var/run/docker.sock');
  });

  it('rejects an unknown engine naming the setting', () => {
    expect(() => loadConfig({ env: {}, flags: { bus: 'rabbitmq' } })).toThrow(/bus\.kind/);
  });
});
