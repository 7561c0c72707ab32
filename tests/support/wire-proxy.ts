/**
 * A loopback TCP proxy in front of PostgreSQL or MySQL/MariaDB that reads (never changes) the
 * client's side of the wire protocol, so tests can see what a connector really sends: which
 * statements it executed with bound parameters, and which simple queries it ran. Also a silent
 * server that accepts connections and never answers (a stalled database).
 *
 * Only plain (non-TLS) connections are understood; that is all the tests route through it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type WireProtocol = 'postgres' | 'mysql';

export interface WireProxy {
  readonly port: number;
  /** SQL of every statement executed with bound parameters (PostgreSQL Execute, MySQL COM_STMT_EXECUTE), in order. */
  readonly executed: string[];
  /** SQL of every statement prepared (PostgreSQL Parse, MySQL COM_STMT_PREPARE). */
  readonly prepared: string[];
  /** SQL of every simple query (PostgreSQL Query, MySQL COM_QUERY). */
  readonly queries: string[];
  /** PostgreSQL CancelRequests received. */
  cancelRequests: number;
  reset(): void;
  close(): Promise<void>;
}

/** Splits a stream into frames with `frameLength`; calls `onFrame` for each complete frame. */
function framer(frameLength: (buffer: Buffer) => number | undefined, onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const length = frameLength(pending);
      if (length === undefined || pending.length < length) return;
      onFrame(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  };
}

const cstring = (buffer: Buffer, start: number): [string, number] => {
  const end = buffer.indexOf(0, start);
  return [buffer.toString('utf8', start, end), end + 1];
};

function watchPostgres(client: Socket, proxy: WireProxy): void {
  let typed = false;
  let lastParsed = '';
  client.on('data', framer(
    (b) => (typed ? (b.length >= 5 ? 1 + b.readInt32BE(1) : undefined) : b.length >= 4 ? b.readInt32BE(0) : undefined),
    (frame) => {
      if (!typed) {
        const code = frame.length >= 8 ? frame.readInt32BE(4) : 0;
        if (code === 80877102) proxy.cancelRequests += 1;
        else if (code !== 80877103 && code !== 80877104) typed = true; // past SSLRequest / GSSENCRequest
        return;
      }
      const type = String.fromCharCode(frame[0]!);
      if (type === 'P') {
        const [, afterName] = cstring(frame, 5);
        [lastParsed] = cstring(frame, afterName);
        proxy.prepared.push(lastParsed);
      } else if (type === 'E') {
        proxy.executed.push(lastParsed);
      } else if (type === 'Q') {
        proxy.queries.push(cstring(frame, 5)[0]);
      }
    },
  ));
}

const mysqlLength = (b: Buffer): number | undefined => (b.length >= 4 ? 4 + b.readUIntLE(0, 3) : undefined);

function watchMysql(client: Socket, server: Socket, proxy: WireProxy): void {
  const statements = new Map<number, string>();
  let preparing: string | undefined;
  client.on('data', framer(mysqlLength, (frame) => {
    if (frame[3] !== 0 || frame.length < 5) return; // commands start a sequence at 0
    const command = frame[4];
    if (command === 0x03) proxy.queries.push(frame.toString('utf8', 5));
    else if (command === 0x16) {
      preparing = frame.toString('utf8', 5);
      proxy.prepared.push(preparing);
    }
    else if (command === 0x17 && frame.length >= 9) proxy.executed.push(statements.get(frame.readUInt32LE(5)) ?? '?');
  }));
  server.on('data', framer(mysqlLength, (frame) => {
    // COM_STMT_PREPARE_OK: sequence 1, status 0x00, then the statement id.
    if (preparing !== undefined && frame[3] === 1 && frame.length >= 9) {
      if (frame[4] === 0x00) statements.set(frame.readUInt32LE(5), preparing);
      preparing = undefined;
    }
  }));
}

export async function startWireProxy(protocol: WireProtocol, target: { host: string; port: number }): Promise<WireProxy> {
  const sockets = new Set<Socket>();
  const proxy: WireProxy = {
    port: 0,
    executed: [],
    prepared: [],
    queries: [],
    cancelRequests: 0,
    reset() {
      proxy.executed.length = 0;
      proxy.prepared.length = 0;
      proxy.queries.length = 0;
      proxy.cancelRequests = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (protocol === 'postgres') watchPostgres(client, proxy);
    else watchMysql(client, upstream, proxy);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { port: number }).port = (server.address() as { port: number }).port;
  return proxy;
}

/** A server that accepts connections and never says a word: a database that stalls. */
export async function startSilentServer(): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
