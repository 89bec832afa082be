import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP relay to a real server (PostgreSQL, Redis) whose connections can be cut or frozen and
 * whose new connections can be held back a while: a lost network, one that silently stops carrying
 * anything, and one slow to come back, without stopping a server other suites share.
 */
export async function startRelay(host: string, port: number) {
  const sockets = new Set<Socket>();
  let holdMs = 0;
  let frozen = false;
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    sockets.add(client);
    setTimeout(() => {
      const upstream = connect(port, host);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      if (frozen) [client, upstream].forEach((s) => s.pause());
      const end = () => [client, upstream].forEach((s) => s.destroy());
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    }, holdMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    holdNewConnections: (ms: number) => void (holdMs = ms),
    /** Closes each new connection as soon as it is accepted (or, given false, carries them again). */
    refuseNewConnections: (refuse = true) => void (refusing = refuse),
    /** Cuts every connection made so far. */
    cut: () => sockets.forEach((s) => s.destroy()),
    /** Carries nothing more either way, the connections left open: a peer gone without a word. */
    freeze: () => {
      frozen = true;
      sockets.forEach((s) => s.pause());
    },
    /** Cuts everything and refuses new connections: the server is gone. */
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}
