/**
 * bmx7d's composition root: key, runtime directory, kernel state, the engine with its Linux
 * adapters, interface tracking, the control socket and the signals. Lifecycle (as BIRD's):
 * DOWN → START (lock, clean up a crashed run's leftovers, sysctls, rule) → UP (engine running,
 * control socket open) → STOP (engine withdraws its routes, every change is undone, socket and
 * pid file removed).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  applyOperations,
  type ConfigState,
  type ControlRequest,
  errorReply,
  formatResultText,
  LIMITS,
  OptionError,
  okReply,
  PROTOCOL_VERSION,
  parameterEntries,
  parseArgs,
  parseCtlArgs,
  REFERENCE_TABLES,
  type Reply,
  type RequestBody,
  renderHelp,
} from '@bmx7/control';
import { createEngine, type Engine, type InterfaceInfo } from '@bmx7/core';
import { generateRsaKey, loadNodeKey, type RsaPrivateKey, saveNodeKey } from '@bmx7/crypto';
import {
  createNetlinkClient,
  NETLINK_ROUTE,
  openNetlinkSocket,
  openRtnlMonitor,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
} from '@bmx7/netlink';
import { createLinuxClock } from './clock.js';
import { type ControlServer, startControlServer } from './control-server.js';
import { createLinuxDatagrams } from './linux/datagrams.js';
import { hasAddress, infoKey, interfaceInfo, readKernelView } from './linux/interfaces.js';
import { openJournal } from './linux/journal.js';
import { createKernel, undoEntry } from './linux/kernel.js';
import { createDaemonLogger, type DaemonLogger } from './log.js';
import { type DaemonSettings, daemonOptionTable, type StartArgs, settingsOf, stateFrom } from './options.js';
import { DaemonError, lockRuntimeDir } from './runtime-dir.js';
import { tableResult } from './tables.js';

export const VERSION = '0.1.0';
/** How often the rtnetlink notification socket is checked (non-blocking). */
export const MONITOR_POLL_MS = 100;
/** How often links and addresses are re-read in full, notifications or not. */
export const INTERFACE_RESYNC_MS = 5000;

export interface RunningDaemon {
  engine: Engine;
  settings(): DaemonSettings;
  /** Resolves with the exit status once the daemon has stopped. */
  done: Promise<number>;
  stop(reason: string): Promise<void>;
}

function openKey(s: DaemonSettings, logger: DaemonLogger): RsaPrivateKey {
  try {
    return loadNodeKey(s.keyPath);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_KEY_FILE' || !/ENOENT/.test(String((e as Error).message))) {
      throw new DaemonError('ERR_KEY', `nodeRsaKey /keyPath=${s.keyPath}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  logger.log(0, 'generating node key', { type: s.keyType, keyPath: s.keyPath });
  mkdirSync(dirname(s.keyPath), { recursive: true, mode: 0o700 });
  const key = generateRsaKey(s.keyType);
  saveNodeKey(s.keyPath, key);
  return key;
}

export async function startDaemon(start: StartArgs, first: DaemonSettings): Promise<RunningDaemon> {
  let settings = first;
  let state: ConfigState = start.state;
  const table = daemonOptionTable();
  const logger = createDaemonLogger(settings.debug);
  const rd = lockRuntimeDir(settings.runtimeDir);
  let nl: ReturnType<typeof createNetlinkClient> | undefined;
  try {
    const key = openKey(settings, logger);
    logger.log(0, 'node key', {
      shortId: Buffer.from(key.id.subarray(0, 4)).toString('hex').toUpperCase(),
      type: key.type,
    });
    nl = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE));
    const netlink = nl;
    const journal = openJournal(rd.journalPath);
    if (journal.leftovers.length > 0) {
      logger.log(0, 'removing leftovers of the last run', { entries: journal.leftovers.length });
      for (const e of [...journal.leftovers].reverse()) undoEntry(netlink, e, logger);
      journal.remove(() => true);
    }
    let view = readKernelView(netlink);
    const kernel = createKernel({
      nl: netlink,
      journal,
      logger,
      table: settings.table,
      rulePref: settings.rulePref,
      policyRouting: settings.policyRouting,
      ifindex: (name) => view.links.find((l) => l.name === name)?.index,
    });
    if (settings.autoSysctl) {
      kernel.sysctl('net/ipv6/conf/all/forwarding', '1');
      kernel.sysctl('net/ipv4/ip_forward', '1');
    }
    kernel.ensureRule();

    let engine: Engine | undefined;
    const datagrams = createLinuxDatagrams(
      (ifname, src, payload) => engine?.receive(ifname, src, payload),
      (ifname, err) => logger.log(4, 'socket error', { dev: ifname, error: err.message }),
    );
    const storage = {
      loadDescSqn(): number | undefined {
        try {
          const n = Number.parseInt(readFileSync(settings.descSqnPath, 'utf8'), 10);
          return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
        } catch {
          return undefined;
        }
      },
      saveDescSqn(v: number): void {
        try {
          mkdirSync(dirname(settings.descSqnPath), { recursive: true, mode: 0o700 });
          writeFileSync(settings.descSqnPath, String(v));
        } catch (e) {
          logger.log(0, 'cannot write descSqnPath', { path: settings.descSqnPath, error: String(e) });
        }
      },
    };
    engine = createEngine({ nodeKey: key, ...settings.engine })({
      clock: createLinuxClock(),
      random: { bytes: (n) => new Uint8Array(randomBytes(n)), float: () => Math.random() },
      datagrams,
      routes: kernel.routes,
      storage,
      logger,
    });
    const eng = engine;
    logger.log(0, 'bmx7d starting', {
      version: VERSION,
      shortId: eng.shortId,
      primaryIp: eng.primaryIp,
      runtimeDir: settings.runtimeDir,
      devs: settings.devs.map((d) => d.name).join(','),
    });
    // node and route events reach stderr and every log subscriber at level 3 ("changes")
    eng.on((e) => {
      if (e.type === 'node-gone') logger.log(3, 'node gone', { id: e.id.slice(0, 8).toUpperCase() });
      else
        logger.log(3, e.type.replace('-', ' '), {
          name: e.node.name,
          shortId: e.node.shortId,
          descSqn: e.node.descSqn,
          ...(e.node.via ? { via: e.node.via.address, dev: e.node.via.dev, hops: e.node.hops } : {}),
        });
    });
    eng.start();

    // ---------------------------------------------------------------- interfaces
    const states = new Map<string, InterfaceInfo | undefined>();
    let syncing = false;
    const syncInterfaces = async (): Promise<void> => {
      if (syncing) return;
      syncing = true;
      try {
        view = readKernelView(netlink);
        let changed = false;
        const wanted = new Set(settings.devs.map((d) => d.name));
        for (const name of [...states.keys()]) {
          if (wanted.has(name)) continue;
          states.delete(name);
          datagrams.close(name);
          kernel.removePrimary(name);
          logger.log(0, 'interface removed', { dev: name });
          changed = true;
        }
        for (const d of settings.devs) {
          const info = interfaceInfo(view, d.name, d);
          const before = states.get(d.name);
          if (info?.up)
            kernel.addPrimary(d.name, eng.primaryIp, hasAddress(view, info.ifindex, eng.primaryIp));
          if (infoKey(info) === infoKey(before) && states.has(d.name)) continue;
          states.set(d.name, info);
          changed = true;
          if (info?.up) {
            try {
              await datagrams.open(d.name, info.linkLocal);
              kernel.resync(d.name);
              logger.log(0, 'interface up', {
                dev: d.name,
                linkLocal: info.linkLocal,
                ifindex: info.ifindex,
              });
            } catch (err) {
              logger.log(0, 'cannot open interface', { dev: d.name, error: String(err) });
              states.set(d.name, { ...info, up: false });
            }
          } else {
            datagrams.close(d.name);
            logger.log(0, info ? 'interface down' : 'interface missing', { dev: d.name });
          }
        }
        if (changed)
          eng.setInterfaces([...states.values()].filter((i): i is InterfaceInfo => i?.up === true));
      } catch (err) {
        logger.log(0, 'interface sync failed', { error: String(err) });
      } finally {
        syncing = false;
      }
    };
    // link and address notifications trigger a re-read at once; a full re-read every few seconds
    // catches anything a lost notification would hide
    const monitor = openRtnlMonitor(RTMGRP_LINK | RTMGRP_IPV6_IFADDR);
    await syncInterfaces();
    let sinceFull = 0;
    const poll = setInterval(() => {
      sinceFull += MONITOR_POLL_MS;
      const changed = monitor.poll().length > 0 || monitor.overrun();
      if (changed || sinceFull >= INTERFACE_RESYNC_MS) {
        sinceFull = 0;
        void syncInterfaces();
      }
    }, MONITOR_POLL_MS);

    // ---------------------------------------------------------------- control
    const startedCpu = process.cpuUsage();
    const startedAt = performance.now();
    const host = {
      get devs() {
        return settings.devs.map((d) => ({ ...d, up: states.get(d.name)?.up === true }));
      },
      cpuPercent() {
        const u = process.cpuUsage(startedCpu);
        const wall = (performance.now() - startedAt) * 1000;
        return wall > 0 ? ((u.user + u.system) / wall) * 100 : 0;
      },
      memKb: () => Math.round(process.memoryUsage().rss / 1024),
    };

    /** Adopts a new configuration state: checks it whole, then applies the differences. */
    const adopt = (next: ConfigState): void => {
      const ns = settingsOf(next, { hostname: osHostname() });
      for (const k of [
        'runtimeDir',
        'keyPath',
        'keyType',
        'descSqnPath',
        'table',
        'rulePref',
        'policyRouting',
        'autoSysctl',
      ] as const) {
        if (ns[k] !== settings[k])
          throw new OptionError('init-only', `${k}: can only be set at start`, { option: k });
      }
      state = next;
      const old = settings;
      settings = ns;
      logger.level = ns.debug;
      const text = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
      if (text(old.engine) !== text(ns.engine)) eng.reconfigure(ns.engine);
      void syncInterfaces();
    };

    const tableNames = (): string[] => ['status', 'interfaces', 'links', 'originators', 'keys'];

    const handle = async (
      req: ControlRequest,
      conn: import('./control-server.js').ControlConnection,
    ): Promise<Reply> => {
      switch (req.op) {
        case 'hello':
          if (req.args.protocol !== undefined && req.args.protocol !== PROTOCOL_VERSION)
            return errorReply(
              req.id,
              'unsupported-protocol',
              `protocol ${req.args.protocol} is not supported (have ${PROTOCOL_VERSION})`,
            );
          return okReply(req.id, {
            protocol: PROTOCOL_VERSION,
            server: 'bmx7d',
            version: VERSION,
            limits: LIMITS,
          });
        case 'version': {
          const [s] = eng.show('status');
          return okReply(req.id, {
            version: `bmx7d-${VERSION}`,
            compatibility: settings.engine.compatibility ?? 21,
            revision: '0000000',
            nodeId: eng.nodeId,
            nodeKey: String(s?.nodeKey ?? ''),
            descSqn: Number(s?.descSqn ?? 0),
            primaryIp: eng.primaryIp,
            hostname: String(s?.name ?? ''),
          });
        }
        case 'tables':
          return okReply(req.id, { tables: tableNames() });
        case 'show': {
          const t = tableResult(eng, req.args.table, host);
          if (!t)
            return errorReply(
              req.id,
              'unknown-table',
              `unknown table ${req.args.table} (have ${[...REFERENCE_TABLES.keys()].join(', ')})`,
            );
          return okReply(req.id, t);
        }
        case 'parameters':
          return okReply(req.id, { parameters: parameterEntries(state, table) });
        case 'get': {
          const spec = table.get(req.args.name);
          if (!spec)
            return errorReply(req.id, 'bad-option', `${req.args.name}: unknown option`, req.args.name);
          return okReply(req.id, { parameters: parameterEntries(state, table, spec.name) });
        }
        case 'set': {
          const r = parseArgs(req.args.argv, table, { context: 'runtime' });
          if (!r.ok) return errorReply(req.id, 'bad-option', r.error.message, r.error.option);
          const changes = r.value.ops.filter((o) => o.op !== 'flag');
          const actions = r.value.ops.filter((o) => o.op === 'flag' && o.option !== 'test');
          const a = applyOperations(state, changes, table);
          if (!a.ok) return errorReply(req.id, 'bad-option', a.error.message, a.error.option);
          const test = req.args.test === true || r.value.test;
          try {
            const ns = settingsOf(a.state, { hostname: osHostname() });
            void ns;
            if (!test) {
              adopt(a.state);
              for (const op of actions) {
                if (op.option === 'descUpdate') eng.descUpdate();
                else if (op.option === 'flushAll') eng.descUpdate();
              }
            }
          } catch (e) {
            if (e instanceof OptionError) return errorReply(req.id, 'bad-option', e.message, e.option);
            throw e;
          }
          for (const op of r.value.ops)
            logger.log(3, test ? 'checked' : 'applied', { option: op.option, op: op.op, value: op.value });
          return okReply(req.id, {
            applied: r.value.ops.map((o) => [o.option, o.op, String(o.value ?? '')]),
            test,
          });
        }
        case 'descriptions':
          return okReply(req.id, {
            descriptions: eng
              .nodes()
              .filter((n) => req.args.name === undefined || n.name === req.args.name)
              .map((n) => ({ ...n })),
          });
        case 'help':
          return okReply(req.id, {
            text: renderHelp(table, {
              verbose: req.args.verbose === true,
              ...(req.args.relevance === undefined ? {} : { relevance: req.args.relevance }),
            }),
          });
        case 'subscribe': {
          const id = req.id;
          const t0 = performance.now();
          const cancel = logger.subscribe(req.args.level, (level, line) =>
            conn.event({ event: 'log', level, message: line, time: Math.round(performance.now() - t0) }),
          );
          conn.subscribe(id, cancel);
          return okReply(req.id, { level: req.args.level });
        }
        case 'unsubscribe':
          conn.subscribe(undefined);
          return okReply(req.id, {});
        case 'quit':
          return okReply(req.id, {});
      }
    };

    const legacy = async (words: readonly string[]): Promise<string> => {
      const inv = parseCtlArgs(['-c', ...words]);
      if (inv.kind !== 'request') return inv.kind === 'usage-error' ? `ERROR: ${inv.message}\n` : '';
      let out = '';
      let n = 0;
      const noop = { event() {}, subscribe() {} };
      for (const body of inv.requests) {
        if (body.op === 'subscribe') continue;
        const reply = await handle({ id: ++n, ...body } as ControlRequest, noop);
        out += reply.ok
          ? formatResultText(body as RequestBody, reply.result)
          : `ERROR: ${reply.error.message}\n`;
      }
      return out;
    };

    const server: ControlServer = await startControlServer(rd.socketPath, { request: handle, legacy });
    logger.log(0, 'control socket open', { path: rd.socketPath });

    // ---------------------------------------------------------------- stop
    let resolveDone: (code: number) => void = () => {};
    const done = new Promise<number>((r) => {
      resolveDone = r;
    });
    let stopping = false;
    const stop = async (reason: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.log(0, 'bmx7d stopping', { reason });
      clearInterval(poll);
      monitor.close();
      eng.stop();
      datagrams.closeAll();
      kernel.restoreAll();
      await server.close();
      netlink.close();
      rd.release();
      logger.log(0, 'bmx7d stopped: routes, rule, addresses and sysctls restored');
      resolveDone(0);
    };
    const onSignal = (sig: NodeJS.Signals) => void stop(sig);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      if (start.configFile === undefined) {
        logger.log(0, 'SIGHUP: no config file to reload');
        return;
      }
      try {
        adopt(stateFrom(start.argvOps, start.configFile));
        logger.log(0, 'SIGHUP: config reloaded', { file: start.configFile });
      } catch (e) {
        logger.log(0, 'SIGHUP: config not reloaded', { error: (e as Error).message });
      }
    });
    return { engine: eng, settings: () => settings, done, stop };
  } catch (err) {
    nl?.close();
    rd.release();
    throw err;
  }
}
