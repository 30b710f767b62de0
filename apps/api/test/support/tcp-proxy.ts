import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of the test's PostgreSQL, to watch and break the service's connections:
 * it counts the bytes the server sends, and can refuse connections (nothing listens) or swallow
 * them (a server that accepts and never answers).
 */
export class TcpProxy {
  /** Bytes sent by the database server to the service since the last reset. */
  bytesFromServer = 0;
  private mode: 'forward' | 'swallow' = 'forward';
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private port = 0;

  private constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy to the server of `url`; `proxy.url` is the same database through it. */
  static async start(url: string): Promise<TcpProxy> {
    const target = new URL(url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.listen();
    return proxy;
  }

  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Closes every connection and stops listening: connecting is refused (ECONNREFUSED). */
  async refuse(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /** Closes every connection; new ones are accepted and never answered (a hung server). */
  async swallow(): Promise<void> {
    if (!this.server) await this.listen();
    this.mode = 'swallow';
    this.dropAll();
  }

  /** Back to forwarding, on the same port. */
  async restore(): Promise<void> {
    this.mode = 'forward';
    this.dropAll();
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private listen(): Promise<void> {
    const server = createServer((client) => {
      this.track(client);
      if (this.mode === 'swallow') return;
      const upstream = createConnection({ host: this.host, port: this.targetPort });
      this.track(upstream);
      upstream.on('data', (chunk: Buffer) => (this.bytesFromServer += chunk.length));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }
}
