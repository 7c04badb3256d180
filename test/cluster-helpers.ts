import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { jpegCycle } from '../src/simulator/frames.js';
import { freePort, waitFor } from './helpers/bridge.js';

// Plumbing of test/cluster.test.ts: network namespaces joined by a bridge (each instance its own
// address, as on separate hosts), real redis-server and nginx processes, a pulled MJPEG camera.

export function requireBinary(name: string, install: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} not found: the cluster test needs it. Install it with "${install}" (.ci/run does).`);
}

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: `${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

/**
 * N network namespaces on one Linux bridge: the host is 10.<net>.0.1, namespace i is 10.<net>.0.(10+i).
 * Returns undefined (and removes what it made) where namespaces cannot be made; the test then runs
 * every instance on loopback.
 */
export class Netns {
  readonly names: string[] = [];
  readonly hostAddr: string;
  private readonly bridge: string;
  private readonly veths: string[] = [];

  private constructor(
    tag: string,
    private readonly net: number,
  ) {
    this.hostAddr = `10.${net}.0.1`;
    this.bridge = `c2mbr${tag}`;
  }

  addr(i: number): string {
    return `10.${this.net}.0.${10 + i}`;
  }

  static create(n: number): Netns | undefined {
    // CLUSTER_NO_NETNS=1: run the loopback fallback on purpose (to check it where namespaces work).
    if (process.env.CLUSTER_NO_NETNS === '1') return undefined;
    const tag = String(process.pid % 100000);
    const ns = new Netns(tag, 200 + (process.pid % 50));
    try {
      const must = (...a: string[]) => {
        const r = ip(...a);
        if (!r.ok) throw new Error(`ip ${a.join(' ')}: ${r.err.trim()}`);
      };
      must('link', 'add', ns.bridge, 'type', 'bridge');
      must('addr', 'add', `${ns.hostAddr}/24`, 'dev', ns.bridge);
      must('link', 'set', ns.bridge, 'up');
      for (let i = 1; i <= n; i++) {
        const name = `c2m${tag}n${i}`;
        must('netns', 'add', name);
        ns.names.push(name);
        const host = `c2m${tag}h${i}`;
        must('link', 'add', host, 'type', 'veth', 'peer', 'name', `c2m${tag}p${i}`);
        ns.veths.push(host);
        must('link', 'set', `c2m${tag}p${i}`, 'netns', name);
        must('link', 'set', host, 'master', ns.bridge);
        must('link', 'set', host, 'up');
        must('-n', name, 'addr', 'add', `${ns.addr(i)}/24`, 'dev', `c2m${tag}p${i}`);
        must('-n', name, 'link', 'set', `c2m${tag}p${i}`, 'up');
        must('-n', name, 'link', 'set', 'lo', 'up');
      }
      return ns;
    } catch (err) {
      ns.destroy();
      console.log(`# network namespaces unavailable (${(err as Error).message}): instances run on loopback`);
      return undefined;
    }
  }

  /** The command line that runs `argv` inside namespace i (1-based). */
  wrap(i: number, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.names[i - 1]!, ...argv];
  }

  /** Cut namespace i off the network (its link to the bridge down), as a pulled cable; mend() undoes it. */
  cut(i: number): void {
    const r = ip('link', 'set', this.veths[i - 1]!, 'down');
    if (!r.ok) throw new Error(`ip link set down: ${r.err}`);
  }

  mend(i: number): void {
    const r = ip('link', 'set', this.veths[i - 1]!, 'up');
    if (!r.ok) throw new Error(`ip link set up: ${r.err}`);
  }

  destroy(): void {
    for (const v of this.veths) ip('link', 'del', v);
    for (const n of this.names) ip('netns', 'del', n);
    ip('link', 'del', this.bridge);
  }
}

export function collect(child: ChildProcess): { text: () => string } {
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { text: () => out };
}

export function spawnLogged(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  return { child, out: collect(child) };
}

/**
 * A real redis-server on `host:port` (default 127.0.0.1), resolved once it accepts connections. With
 * `dir` it keeps an append-only file there, so a restart on the same port finds its keys again.
 */
export async function startRedis(port: number, opts: { host?: string; dir?: string } = {}) {
  const argv = [requireBinary('redis-server', 'apt-get install -y redis-server'), '--port', String(port)];
  argv.push('--bind', opts.host ?? '127.0.0.1', '--protected-mode', 'no', '--save', '');
  argv.push(...(opts.dir ? ['--dir', opts.dir, '--appendonly', 'yes'] : ['--appendonly', 'no']));
  const redis = spawnLogged(argv);
  await waitFor(() => /Ready to accept connections/.test(redis.out.text()), 10_000, 'redis-server ready');
  return redis;
}

/**
 * One cam2mqtt instance on 127.0.0.1 for the by-hand cluster scripts: its data dir `<dir>/<id>`, a free
 * HTTP port with `token` as its API token, its own embedded broker, and the cluster on Redis at
 * `redisPort`. Resolved once its /api/cluster answers.
 */
export async function startLoopbackInstance(
  cli: string,
  dir: string,
  id: string,
  redisPort: number,
  token: string,
  nodeArgs: string[] = [],
) {
  const data = path.join(dir, id);
  mkdirSync(data);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    path.join(data, 'configuration.yaml'),
    JSON.stringify({
      http: { host: '127.0.0.1', port, auth: { token } },
      log: { level: 'warn', format: 'json' },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      cluster: { redis: `redis://127.0.0.1:${redisPort}`, instance_id: id, internal_url: url, ttl: 5 },
    }),
  );
  const proc = spawnLogged([process.execPath, ...nodeArgs, cli, '--data-dir', data], { cwd: data });
  const auth = { Authorization: `Bearer ${token}` };
  await waitFor(() => fetch(`${url}/api/cluster`, { headers: auth }).then((r) => r.ok), 60_000, url);
  return { url, proc };
}

export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A pulled camera (CameraWebServer-like /stream): one MJPEG stream at `fps`, its frames numbered. */
export class MjpegCamera {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly frames: Buffer[];
  /** Stream requests received (two instances pulling it would show here). */
  requests = 0;
  /** Each stream request: when, and from which address (in netns mode, which instance). */
  readonly log: { at: number; from: string }[] = [];
  open = 0;
  port = 0;

  constructor(
    private readonly fps: number,
    hue: number,
  ) {
    this.frames = jpegCycle({ width: 160, height: 120, hue });
    this.server = createServer((req, res) => {
      if (!req.url?.startsWith('/stream')) {
        res.writeHead(404).end();
        return;
      }
      this.requests++;
      this.log.push({ at: Date.now(), from: req.socket.remoteAddress ?? '' });
      this.open++;
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace;boundary=frame' });
      let i = 0;
      const t = setInterval(() => {
        const f = this.frames[i++ % this.frames.length]!;
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\n\r\n`);
        res.write(f);
        res.write('\r\n');
      }, 1000 / this.fps);
      res.on('close', () => {
        this.open--;
        clearInterval(t);
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  listen(host: string): Promise<this> {
    return new Promise((resolve) =>
      this.server.listen(0, host, () => {
        this.port = (this.server.address() as { port: number }).port;
        resolve(this);
      }),
    );
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}
