'use strict';
// An independent SOAP event feed for dlrpoll's tests: node's `soap` package (pinned in
// package-lock.json) serving events.wsdl, document/literal, on 127.0.0.1 only.
//
//   DrainEvents(clientId, passphrase, batchSize?)  destructive: returns up to
//       min(batchSize, MAX_BATCH) of the oldest unread events and marks them read as it answers
//   PeekEvent(clientId, passphrase)                the oldest unread event, left unread
//   AckEvent(clientId, passphrase, eventKey)       marks that event read (true if it is read)
//
// Wrong credentials: a SOAP fault (soap:Client, or soap:Sender with SOAP 1.2) with HTTP 500.
// The test drives it over plain HTTP on the same port:
//   POST /control/load  {"events": [{"text", "sender"?, "createdAt"?}]}  -> {"keys": [...]}
//   GET  /control/state     -> {"pending": [keys], "read": [keys], "served": {key: times}}
//   GET  /control/exchanges -> [{"seq", "type", "xml", "at"}]  (received, replied, error)
// Environment: PORT, CLIENT_ID, PASSPHRASE, MAX_BATCH (default 100), SOAP12=1 for a SOAP 1.2
// binding and envelopes (node-soap picks the envelope version per server, never per request).
const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');

const port = Number(process.env.PORT);
const clientId = process.env.CLIENT_ID || '';
const passphrase = process.env.PASSPHRASE || '';
const maxBatch = Number(process.env.MAX_BATCH || 100);
const soap12 = process.env.SOAP12 === '1';
const bindingNs = soap12
  ? 'http://schemas.xmlsoap.org/wsdl/soap12/'
  : 'http://schemas.xmlsoap.org/wsdl/soap/';
const wsdl = fs.readFileSync(path.join(__dirname, 'events.wsdl'), 'utf8')
  .replaceAll('__BINDING_NS__', bindingNs)
  .replaceAll('__ENDPOINT__', `http://127.0.0.1:${port}/events`);

const queue = [];          // unread events, oldest first
const read = new Map();    // eventKey -> event, in the order they were read
const served = new Map();  // eventKey -> how many times a reply carried it
const exchanges = [];
let nextKey = 1;
let nextSeq = 1;

function authFault(text) {
  if (soap12) {
    return { Fault: { Code: { Value: 'soap:Sender' }, Reason: { Text: text }, statusCode: 500 } };
  }
  return {
    Fault: {
      faultcode: 'soap:Client', faultstring: text,
      detail: { AuthFault: { reason: text } }, statusCode: 500,
    },
  };
}

function checkCredentials(args) {
  if (args.clientId !== clientId || args.passphrase !== passphrase) {
    throw authFault('Authentication failed: unknown clientId or wrong passphrase');
  }
}

function wire(event) {
  served.set(event.key, (served.get(event.key) || 0) + 1);
  const origin = { msisdn: event.sender };
  if (event.network) origin.network = event.network;
  return {
    header: { eventKey: event.key, origin, createdAt: event.createdAt },
    content: { body: event.text },
  };
}

const services = {
  EventFeed: {
    EventFeedPort: {
      DrainEvents(args) {
        checkCredentials(args);
        const asked = Number(args.batchSize) > 0 ? Number(args.batchSize) : maxBatch;
        const taken = queue.splice(0, Math.min(asked, maxBatch));
        for (const event of taken) read.set(event.key, event);
        return {
          summary: { delivered: taken.length, remaining: queue.length },
          events: { event: taken.map(wire) },
        };
      },
      PeekEvent(args) {
        checkCredentials(args);
        return { waiting: queue.length, head: queue.length ? { event: wire(queue[0]) } : {} };
      },
      AckEvent(args) {
        checkCredentials(args);
        const at = queue.findIndex((event) => event.key === args.eventKey);
        if (at >= 0) {
          const [event] = queue.splice(at, 1);
          read.set(event.key, event);
        }
        return { acknowledged: read.has(args.eventKey) };
      },
    },
  },
};

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function control(req, res) {
  if (req.method === 'GET' && req.url === '/control/state') {
    return sendJson(res, 200, {
      pending: queue.map((event) => event.key),
      read: [...read.keys()],
      served: Object.fromEntries(served),
    });
  }
  if (req.method === 'GET' && req.url === '/control/exchanges') {
    return sendJson(res, 200, exchanges);
  }
  if (req.method === 'POST' && req.url === '/control/load') {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const keys = [];
      for (const e of JSON.parse(Buffer.concat(chunks).toString('utf8')).events) {
        const key = `EV-${String(nextKey++).padStart(7, '0')}`;
        queue.push({
          key, text: e.text, sender: e.sender || '+15550000', network: e.network,
          createdAt: e.createdAt || new Date().toISOString(),
        });
        keys.push(key);
      }
      sendJson(res, 200, { keys });
    });
    return undefined;
  }
  res.statusCode = 404;
  return res.end();
}

const server = http.createServer(control);
server.listen(port, '127.0.0.1', () => {
  const listener = soap.listen(server, {
    path: '/events', services, xml: wsdl, forceSoap12Headers: soap12,
  });
  listener.log = (type, data) => {
    if (type === 'received' || type === 'replied' || type === 'error') {
      const xml = data instanceof Error ? String(data.stack || data) : String(data);
      exchanges.push({ seq: nextSeq++, type, xml, at: new Date().toISOString() });
      console.log(`${type} ${xml.length} chars`);
    }
  };
  console.log(`ready on 127.0.0.1:${port} soap${soap12 ? '1.2' : '1.1'}`);
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  process.exit(0);
});
