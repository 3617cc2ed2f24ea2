#!/usr/bin/env node
'use strict';
/**
 * theraguard-node: score or guard one reply against a TheraGuard sidecar from Node.js.
 *
 *   node bin/theraguard.js guard --target localhost:50051 \
 *     --context 'user: I cannot sleep and feel hopeless.' --reply 'Have you tried less coffee?' [--json]
 *
 * Exit status: 0 ok, 1 the call failed (the gRPC status is printed), 2 bad arguments.
 */

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { GuardrailClient, grpc } = require('../src/client');

const USAGE = `usage: theraguard-node {score|guard} --reply TEXT [--target HOST:PORT] [--context 'ROLE: TEXT']...
       [--policy NAME] [--override DIM=VALUE]... [--request-id ID] [--timeout SECONDS] [--json]
       [--tls-ca PEM [--tls-cert PEM --tls-key PEM] [--tls-server-name NAME]]`;

function fail(message, code) {
  process.stderr.write(`theraguard-node: error: ${message}\n`);
  process.exit(code);
}

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string', default: 'localhost:50051' },
      context: { type: 'string', multiple: true, default: [] },
      reply: { type: 'string' },
      policy: { type: 'string', default: '' },
      override: { type: 'string', multiple: true, default: [] },
      'request-id': { type: 'string', default: '' },
      timeout: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-server-name': { type: 'string' },
    },
  });
  const command = positionals[0];
  if (!['score', 'guard'].includes(command) || positionals.length !== 1) throw new Error(USAGE);
  if (values.reply === undefined) throw new Error(`--reply is required\n${USAGE}`);
  const context = values.context.map((turn) => {
    const at = turn.indexOf(':');
    if (at < 0) throw new Error(`--context must look like 'user: text' or 'assistant: text' (got: ${JSON.stringify(turn.slice(0, 40))})`);
    return { role: turn.slice(0, at).trim(), text: turn.slice(at + 1).trim() };
  });
  const overrides = {};
  for (const item of values.override) {
    const [dim, value] = item.split('=');
    if (value === undefined || Number.isNaN(Number(value))) throw new Error(`--override must look like Safety=4.5 (got: ${JSON.stringify(item)})`);
    overrides[dim] = Number(value);
  }
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds (got: ${values.timeout})`);
  return { command, values, context, overrides, timeout };
}

function credentials(values) {
  if (!values['tls-ca']) return { credentials: undefined, channelOptions: {} };
  const read = (p) => fs.readFileSync(p);
  const creds = grpc.credentials.createSsl(
    read(values['tls-ca']),
    values['tls-key'] ? read(values['tls-key']) : null,
    values['tls-cert'] ? read(values['tls-cert']) : null,
  );
  const channelOptions = values['tls-server-name'] ? { 'grpc.ssl_target_name_override': values['tls-server-name'] } : {};
  return { credentials: creds, channelOptions };
}

function printTable(scores) {
  console.log(`${'dimension'.padEnd(16)}${'score'.padStart(7)}${'threshold'.padStart(11)}  verdict`);
  for (const s of scores) {
    const verdict = s.passed ? 'pass' : 'FAIL';
    console.log(`${s.dimension.padEnd(16)}${s.score.toFixed(2).padStart(7)}${s.threshold.toFixed(2).padStart(11)}  ${verdict}${s.critical ? ' (critical)' : ''}`);
  }
}

async function main() {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    return fail(err.message, 2);
  }
  const { command, values, context, overrides, timeout } = args;
  let client;
  try {
    client = new GuardrailClient(values.target, { timeoutMs: timeout * 1000, ...credentials(values) });
  } catch (err) {
    return fail(err.message, 2);
  }
  const request = { context, reply: values.reply, policy: values.policy, overrides, requestId: values['request-id'] };
  let result;
  try {
    result = command === 'score' ? await client.score(request) : await client.guard(request);
  } catch (err) {
    if (err instanceof TypeError) return fail(err.message, 2);
    return fail(`${err.codeName || 'ERROR'}: ${err.details || err.message}`, 1);
  } finally {
    client.close();
  }
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return undefined;
  }
  if (command === 'guard') {
    console.log(`action: ${result.action}  reason: ${result.reason}`);
    console.log(`reply: ${result.reply}`);
    printTable(result.scoresBefore);
  } else {
    printTable(result.scores);
  }
  console.log(`judge: ${result.versions.judge}  policy: ${result.versions.policy}  provider: ${result.versions.executionProvider}`);
  return undefined;
}

main();
