'use strict';
/**
 * TheraGuard client for Node.js: calls theraguard.v1.Guardrail (Score, Guard) over gRPC.
 *
 * The service definition is loaded at run time from proto/theraguard/v1/guardrail.proto with
 * @grpc/proto-loader, so there is no generated code to keep in step with the contract.
 */

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

/** The repository's proto/ directory (override with the protoRoot option or THERAGUARD_PROTO_ROOT). */
const DEFAULT_PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');
const PROTO_FILE = 'theraguard/v1/guardrail.proto';

/** The seven dimensions in the contract's fixed order. */
const DIMENSIONS = Object.freeze([
  'Guidance', 'Informativeness', 'Relevance', 'Safety', 'Empathy', 'Helpfulness', 'Understanding',
]);
const ROLES = Object.freeze({ user: 'ROLE_USER', assistant: 'ROLE_ASSISTANT' });

/** Load the Guardrail service definition from the proto files under protoRoot. */
function loadGuardrail(protoRoot = process.env.THERAGUARD_PROTO_ROOT || DEFAULT_PROTO_ROOT) {
  const file = path.join(protoRoot, PROTO_FILE);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: pass protoRoot (the directory that holds theraguard/v1/)`);
  }
  const definition = protoLoader.loadSync(PROTO_FILE, {
    includeDirs: [protoRoot],
    keepCase: false, // request_id -> requestId
    enums: String, // 'ACTION_PASS', not 1
    defaults: true, // unset scalars read as their defaults, as in proto3
    longs: String,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).theraguard.v1.Guardrail;
}

/** 'DIMENSION_SAFETY' <-> 'Safety'. */
function dimensionName(wire) {
  const name = wire.replace(/^DIMENSION_/, '');
  return DIMENSIONS.find((d) => d.toUpperCase() === name) || wire;
}
function dimensionWire(name) {
  if (!DIMENSIONS.includes(name)) {
    throw new TypeError(`unknown dimension ${JSON.stringify(name)}; use one of ${DIMENSIONS.join(', ')}`);
  }
  return `DIMENSION_${name.toUpperCase()}`;
}

function toTurn(turn, index) {
  const role = ROLES[String(turn.role).toLowerCase()];
  if (!role) {
    throw new TypeError(`context[${index}].role must be "user" or "assistant" (got: ${JSON.stringify(turn.role)})`);
  }
  return { role, text: turn.text };
}

function toRequest({ context = [], reply, policy = '', overrides = {}, requestId = '' }) {
  if (typeof reply !== 'string') {
    throw new TypeError('reply must be a string (the chatbot reply to judge)');
  }
  return {
    context: context.map(toTurn),
    reply,
    policy,
    overrides: Object.entries(overrides).map(([dim, threshold]) => ({ dimension: dimensionWire(dim), threshold })),
    requestId,
  };
}

function fromScores(scores) {
  return scores.map((s) => ({
    dimension: dimensionName(s.dimension),
    score: s.score,
    threshold: s.threshold,
    passed: s.passed,
    critical: s.critical,
  }));
}

function fromTimings(timings) {
  return Object.fromEntries(timings.map((t) => [t.step, t.millis]));
}

/** gRPC errors keep their status: err.code (number), err.codeName ('INVALID_ARGUMENT'), err.details. */
function withCodeName(err) {
  const codeName = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code);
  return Object.assign(err, { codeName: codeName || String(err.code) });
}

class GuardrailClient {
  /**
   * @param {string} target host:port of the sidecar, e.g. 'localhost:50051'
   * @param {object} [options]
   * @param {grpc.ChannelCredentials} [options.credentials] default: plaintext (the sidecar on localhost)
   * @param {number} [options.timeoutMs] per-call deadline (default 10000); the guard fits its rewrite in it
   * @param {string} [options.protoRoot] directory holding theraguard/v1/guardrail.proto
   * @param {object} [options.channelOptions] e.g. {'grpc.ssl_target_name_override': 'theraguard.svc'}
   */
  constructor(target = 'localhost:50051', options = {}) {
    const Guardrail = loadGuardrail(options.protoRoot);
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.stub = new Guardrail(
      target,
      options.credentials || grpc.credentials.createInsecure(),
      options.channelOptions || {},
    );
  }

  _call(method, request) {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.timeoutMs);
      this.stub[method](request, { deadline }, (err, response) => (err ? reject(withCodeName(err)) : resolve(response)));
    });
  }

  /** Score one reply: per-dimension scores (and the policy's thresholds/verdicts). */
  async score(request) {
    const r = await this._call('Score', toRequest(request));
    return {
      scores: fromScores(r.scores),
      failed: r.failed.map(dimensionName),
      timings: fromTimings(r.timings),
      versions: r.versions,
      requestId: r.requestId,
    };
  }

  /** Guard one reply: what to send (action + reply) and why. */
  async guard(request) {
    const r = await this._call('Guard', toRequest(request));
    return {
      action: r.action.replace(/^ACTION_/, '').toLowerCase(), // pass | rewritten | fallback | blocked | flagged
      reply: r.reply,
      reason: r.reason,
      failed: r.failed.map(dimensionName),
      scoresBefore: fromScores(r.scoresBefore),
      scoresAfter: fromScores(r.scoresAfter),
      shadow: r.shadow,
      shadowAction: r.shadow ? r.shadowAction.replace(/^ACTION_/, '').toLowerCase() : '',
      shadowReply: r.shadowReply,
      timings: fromTimings(r.timings),
      versions: r.versions,
      requestId: r.requestId,
    };
  }

  close() {
    this.stub.close();
  }
}

module.exports = { GuardrailClient, loadGuardrail, DIMENSIONS, grpc };
