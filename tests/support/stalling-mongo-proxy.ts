/**
 * A loopback TCP proxy in front of a MongoDB-wire server that passes every message through until a
 * client sends a command the test names; from then on that connection is silent both ways (the
 * server never gets the command, the client never gets an answer). Other connections, the
 * driver's monitoring among them, go on answering: a server that stalls in the middle of a command
 * while it still looks healthy, which no deadline on finding a server catches.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface StallingProxy {
  readonly port: number;
  /** The commands stalled so far, by name. */
  readonly stalled: string[];
  close(): Promise<void>;
}

const OP_MSG = 2013;

/** The command name of an OP_MSG whose first section is its body (kind 0), else undefined. */
function commandName(message: Buffer): string | undefined {
  if (message.length < 27 || message.readInt32LE(12) !== OP_MSG || message[20] !== 0) return undefined;
  const end = message.indexOf(0, 26);
  return end === -1 ? undefined : message.toString('utf8', 26, end);
}

export async function startStallingMongoProxy(target: { host: string; port: number }, stallOn: (command: string) => boolean): Promise<StallingProxy> {
  const sockets = new Set<Socket>();
  const stalled: string[] = [];
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    let silent = false;
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (silent) return;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        const name = commandName(message);
        if (name !== undefined && stallOn(name)) {
          silent = true;
          stalled.push(name);
          return;
        }
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stalled,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
