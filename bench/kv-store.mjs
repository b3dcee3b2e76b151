// A Workers KV store for raw workerd, as a real HTTP server in this Node process: workerd's KV
// binding sends `GET /<url-encoded key>` to the service it is bound to (an `external` service
// at this server's address), and this server answers from a Map the caller can change while
// the gateway runs (the soak's table swaps). `fault` makes the store misbehave, for the fault
// tests: 'fail' answers 500, 'slow' answers after `slowMs`, 'hang' never answers, 'reset'
// destroys the connection. Only reads are served: the gateway never writes KV.
import { createServer } from 'node:http';
import { once } from 'node:events';

/** Starts a store on a free loopback port; `data` is key → string value. */
export async function startKvStore(data = {}) {
  const values = new Map(Object.entries(data));
  const store = {
    values,
    fault: null,
    slowMs: 3000,
    reads: 0,
    port: 0,
    /** Publishes a compiled route document (JSON text) and points `routes/active` at it. */
    publish(docText) {
      const { version } = JSON.parse(docText);
      values.set(`routes/versions/${version}`, docText);
      values.set('routes/active', version);
      return version;
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
  const server = createServer((req, res) => {
    store.reads++;
    const answer = () => {
      const key = decodeURIComponent(new URL(req.url, 'http://kv').pathname.slice(1));
      const value = values.get(key);
      if (req.method === 'GET' && typeof value === 'string') res.end(value);
      else { res.statusCode = 404; res.end(); }
    };
    switch (store.fault) {
      case 'fail': res.statusCode = 500; res.end('store unavailable'); break;
      case 'slow': setTimeout(answer, store.slowMs); break;
      case 'hang': break;
      case 'reset': req.socket.destroy(); break;
      default: answer();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  store.port = server.address().port;
  return store;
}
