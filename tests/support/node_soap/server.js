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
//   GET  /control/state     -> {"pending": [keys], "read": [keys], "served": {key: times},
//                               "rejected": requests refused for their HTTP credentials}
//   GET  /control/exchanges -> [{"seq", "type", "xml", "at", "path"}]  (received, replied, error)
// Environment: PORT, CLIENT_ID, PASSPHRASE, MAX_BATCH (default 100);
//   PORTS: the ports the WSDL lists, in order: "11" (default; EventFeedPort, SOAP 1.1 at
//     /events), "12" (EventFeedSoap12, SOAP 1.2 at /events12), or "12,11". Both are always
//     served: node-soap picks the envelope version per listener, never per request.
//   QUALIFIED=0: the schema leaves elementFormDefault out, and node-soap writes the reply's
//     children in no namespace (<tns:DrainEventsReply><summary>...).
//   EMPTY_AS: how a reply with no event is written: "list" (default, <events/>), "absent"
//     (the element left out) or "nil" (null: node-soap writes xsi:nil undeclared).
//   BASIC_USER + BASIC_PASSWORD: HTTP Basic required (401 otherwise); API_KEY: the X-Api-Key
//     header required (403 otherwise); both for the WSDL and the calls, never for /control.
const fs = require('fs');
const http = require('http');
const path = require('path');
const soap = require('soap');

const port = Number(process.env.PORT);
const clientId = process.env.CLIENT_ID || '';
const passphrase = process.env.PASSPHRASE || '';
const maxBatch = Number(process.env.MAX_BATCH || 100);
const ports = (process.env.PORTS || '11').split(',');
const emptyAs = process.env.EMPTY_AS || 'list';
const basic = process.env.BASIC_USER
  ? 'Basic ' + Buffer.from(`${process.env.BASIC_USER}:${process.env.BASIC_PASSWORD}`).toString('base64')
  : null;
const apiKey = process.env.API_KEY || null;
const base = `http://127.0.0.1:${port}`;
const portXml = {
  11: `    <wsdl:port name="EventFeedPort" binding="ev:EventFeedBinding">
      <wsoap:address location="${base}/events"/>
    </wsdl:port>`,
  12: `    <wsdl:port name="EventFeedSoap12" binding="ev:EventFeedBinding12">
      <wsoap12:address location="${base}/events12"/>
    </wsdl:port>`,
};
const wsdl = fs.readFileSync(path.join(__dirname, 'events.wsdl'), 'utf8')
  .replaceAll('__FORM__', process.env.QUALIFIED === '0' ? '' : ' elementFormDefault="qualified"')
  .replaceAll('__PORTS__', ports.map((p) => portXml[p]).join('\n'));

const queue = [];          // unread events, oldest first
const read = new Map();    // eventKey -> event, in the order they were read
const served = new Map();  // eventKey -> how many times a reply carried it
const exchanges = [];
let nextKey = 1;
let nextSeq = 1;

function authFault(text, soap12) {
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

function checkCredentials(args, soap12) {
  if (args.clientId !== clientId || args.passphrase !== passphrase) {
    throw authFault('Authentication failed: unknown clientId or wrong passphrase', soap12);
  }
}

// what a reply with no event holds where the events would be
function none(name, value) {
  if (emptyAs === 'absent') return {};
  return { [name]: emptyAs === 'nil' ? null : value };
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

function feed(soap12) {
  return {
    DrainEvents(args) {
      checkCredentials(args, soap12);
      const asked = Number(args.batchSize) > 0 ? Number(args.batchSize) : maxBatch;
      const taken = queue.splice(0, Math.min(asked, maxBatch));
      for (const event of taken) read.set(event.key, event);
      const summary = { delivered: taken.length, remaining: queue.length };
      if (!taken.length) return { summary, ...none('events', { event: [] }) };
      return { summary, events: { event: taken.map(wire) } };
    },
    PeekEvent(args) {
      checkCredentials(args, soap12);
      if (!queue.length) return { waiting: 0, ...none('head', {}) };
      return { waiting: queue.length, head: { event: wire(queue[0]) } };
    },
    AckEvent(args) {
      checkCredentials(args, soap12);
      const at = queue.findIndex((event) => event.key === args.eventKey);
      if (at >= 0) {
        const [event] = queue.splice(at, 1);
        read.set(event.key, event);
      }
      return { acknowledged: read.has(args.eventKey) };
    },
  };
}

// node-soap dispatches on the port whose address path matches the request's
const services = (soap12) => ({
  EventFeed: { EventFeedPort: feed(soap12), EventFeedSoap12: feed(soap12) },
});

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
      rejected,
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

// node-soap attaches to `inner`, which never listens: `server` checks the HTTP credentials
// first, then hands the request on (node-soap passes paths it does not serve to `control`)
const inner = http.createServer(control);
let rejected = 0;

function authorized(req, res) {
  if (req.url.startsWith('/control/')) return true;
  if (basic && req.headers.authorization !== basic) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="events"', 'Content-Type': 'text/plain' });
  } else if (apiKey && req.headers['x-api-key'] !== apiKey) {
    res.writeHead(403, { 'Content-Type': 'text/plain' });
  } else {
    return true;
  }
  rejected += 1;
  res.end('denied');
  return false;
}

const server = http.createServer((req, res) => {
  if (authorized(req, res)) inner.emit('request', req, res);
});

function attach(where, soap12, then) {
  const listener = soap.listen(inner, {
    path: where, services: services(soap12), xml: wsdl, forceSoap12Headers: soap12,
    callback: then,
  });
  listener.log = (type, data, req) => {
    if (type === 'received' || type === 'replied' || type === 'error') {
      const xml = data instanceof Error ? String(data.stack || data) : String(data);
      exchanges.push({
        seq: nextSeq++, type, xml, at: new Date().toISOString(), path: req ? req.url : where,
      });
      console.log(`${type} ${where} ${xml.length} chars`);
    }
  };
}

server.listen(port, '127.0.0.1', () => {
  // one after the other: each listener keeps the request listeners it found
  attach('/events', false, () => attach('/events12', true, () => {
    console.log(`ready on 127.0.0.1:${port} ports ${ports.join(',')}`);
  }));
});

process.on('SIGTERM', () => {
  server.closeAllConnections();
  process.exit(0);
});
