// The floor for bench/ingest.mjs: a bare node:http handler that reads a report's body, JSON-parses
// it and answers 200 with an answer of the route's shape — no auth, no validation, no database.
// Usage: PORT=4100 node bench/ingest-bare.mjs
import { createServer } from 'node:http'

createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const report = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const accepted = report.samples?.length ?? 1
    const body = JSON.stringify({ node_id: Number(req.url.split('/')[4]), accepted, stored: accepted, duplicates: 0, last_seen: new Date().toISOString() })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'))
