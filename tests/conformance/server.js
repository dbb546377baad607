'use strict';
// An independent OAuth 2.0 server for bearer's conformance tests: @node-oauth/oauth2-server
// behind node's own `http`, configured the way the provider behaves (see README.md).
//
//   node server.js [--port N] [--access-token-lifetime S] [--refresh-token-lifetime S]
//                  [--client ID:SECRET]... [--no-rotation] [--verbose]
//
// The port also comes from $PORT; 0 (the default) binds any free port. The first line on stdout
// is the bound port, alone. The server exits when its stdin closes, so a test that dies never
// leaves it behind.
//
// Routes
//   POST /oauth2/token                     the library's token handler (client_credentials,
//                                          refresh_token; Basic or body client authentication)
//   GET  /v1/searchoauth?query=WORDS       bearer-protected, answers JSON
//   GET  /admin/counters                   counters as JSON (see `counters` below)
//   POST /admin/advance?seconds=S          moves the server's clock forward by S seconds
//   POST /admin/revoke-access-tokens?client_id=ID    voids the client's access tokens
//   POST /admin/forget-refresh-tokens?client_id=ID   voids the client's refresh tokens
//
// --no-rotation: the refresh grant issues no new refresh token and keeps the old one valid
// (the library's `alwaysIssueNewRefreshToken: false`), as RFC 6749 section 6 allows.
//
// Time: every expiry is kept on a virtual clock, the real clock plus an offset that
// /admin/advance moves. The library compares expiries with the real `new Date()`, so the model
// hands it expiries shifted back by the offset: advancing the clock is the same as waiting.

const http = require('http');
const crypto = require('crypto');
const { AsyncLocalStorage } = require('async_hooks');
const OAuth2Server = require('@node-oauth/oauth2-server');
const { Request, Response, OAuthError, UnauthorizedRequestError } = OAuth2Server;

// ---- options ------------------------------------------------------------------------------

function parseArgs(argv) {
  const options = {
    port: Number(process.env.PORT || 0),
    accessTokenLifetime: 3600,
    refreshTokenLifetime: 14 * 24 * 3600,
    clients: [],
    rotation: true,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--port': options.port = Number(value()); break;
      case '--access-token-lifetime': options.accessTokenLifetime = Number(value()); break;
      case '--refresh-token-lifetime': options.refreshTokenLifetime = Number(value()); break;
      case '--client': {
        const pair = value();
        const colon = pair.indexOf(':');
        if (colon < 1) fail(`--client takes ID:SECRET, got ${pair}`);
        options.clients.push({ id: pair.slice(0, colon), secret: pair.slice(colon + 1) });
        break;
      }
      case '--no-rotation': options.rotation = false; break;
      case '--verbose': options.verbose = true; break;
      default: fail(`unknown argument ${arg}`);
    }
  }
  for (const [name, n] of [['port', options.port],
    ['access-token-lifetime', options.accessTokenLifetime],
    ['refresh-token-lifetime', options.refreshTokenLifetime]]) {
    if (!Number.isInteger(n) || n < 0 || (name !== 'port' && n === 0)) fail(`bad --${name}: ${n}`);
  }
  if (options.clients.length === 0) {
    options.clients.push({ id: 'conformanceclient0000001', secret: 'Secret0001' });
  }
  return options;
}

function fail(message) {
  process.stderr.write(`server.js: ${message}\n`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));

// ---- state --------------------------------------------------------------------------------

let offsetMs = 0;
const virtualNow = () => Date.now() + offsetMs;
const toVirtual = (date) => date.getTime() + offsetMs;
const toReal = (virtualMs) => new Date(virtualMs - offsetMs);

const clients = new Map(options.clients.map((c) => [c.id, {
  id: c.id,
  secret: c.secret,
  grants: ['client_credentials', 'refresh_token'],
}]));
const accessTokens = new Map(); // token -> { clientId, scope, expiresAt (virtual ms) }
const refreshTokens = new Map(); // token -> { clientId, scope, expiresAt (virtual ms) }

const counters = {
  token_requests: { client_credentials: 0, refresh_token: 0, other: 0 },
  token_client_auth: { basic: 0, body: 0, none: 0 },
  tokens_issued: 0,
  token_refusals: {}, // OAuth error code -> count
  api_calls: 0,
  api_refusals: {}, // error code (or "no_token") -> count
  refresh_tokens_voided: 0,
};
// The grant of the token request being handled, for the model hooks (which are not given it).
const currentGrant = new AsyncLocalStorage();
const bump = (map, key) => { map[key] = (map[key] || 0) + 1; };

// ---- the model: the library's hooks --------------------------------------------------------

const model = {
  async getClient(clientId, clientSecret) {
    const client = clients.get(clientId);
    if (!client || client.secret !== clientSecret) return null;
    return client;
  },

  // A client-credentials token belongs to the client itself.
  async getUserFromClient(client) {
    return { id: client.id };
  },

  // Like the provider, client_credentials also issues a refresh token (the library issues none
  // for it); the refresh grant brings its own rotated one (none with --no-rotation).
  async saveToken(token, client, user) {
    if (!token.refreshToken && currentGrant.getStore() === 'client_credentials') {
      token.refreshToken = crypto.randomBytes(32).toString('hex');
      token.refreshTokenExpiresAt = new Date(Date.now() + options.refreshTokenLifetime * 1000);
    }
    accessTokens.set(token.accessToken, {
      clientId: client.id,
      scope: token.scope,
      expiresAt: toVirtual(token.accessTokenExpiresAt),
    });
    if (token.refreshToken) {
      refreshTokens.set(token.refreshToken, {
        clientId: client.id,
        scope: token.scope,
        expiresAt: toVirtual(token.refreshTokenExpiresAt),
      });
    }
    counters.tokens_issued++;
    return { ...token, client, user };
  },

  async getAccessToken(accessToken) {
    const record = accessTokens.get(accessToken);
    if (!record) return null;
    return {
      accessToken,
      accessTokenExpiresAt: toReal(record.expiresAt),
      scope: record.scope,
      client: clients.get(record.clientId),
      user: { id: record.clientId },
    };
  },

  async getRefreshToken(refreshToken) {
    const record = refreshTokens.get(refreshToken);
    if (!record) return null;
    return {
      refreshToken,
      refreshTokenExpiresAt: toReal(record.expiresAt),
      scope: record.scope,
      client: clients.get(record.clientId),
      user: { id: record.clientId },
    };
  },

  // Rotation: the refresh grant revokes the refresh token it was given before it issues a new
  // one, so the old one is refused from then on (invalid_grant).
  async revokeToken(token) {
    const existed = refreshTokens.delete(token.refreshToken);
    if (existed) counters.refresh_tokens_voided++;
    return existed;
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: options.accessTokenLifetime,
  refreshTokenLifetime: options.refreshTokenLifetime,
  alwaysIssueNewRefreshToken: options.rotation,
});

// ---- HTTP ---------------------------------------------------------------------------------

function send(res, response) {
  const headers = { ...response.headers };
  let body = '';
  if (response.body !== undefined && response.body !== null &&
      !(typeof response.body === 'object' && Object.keys(response.body).length === 0)) {
    body = JSON.stringify(response.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(response.status, headers);
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, { status, headers: {}, body: value });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function oauthRequest(req, url, raw) {
  const isForm = /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] || '');
  return new Request({
    method: req.method,
    headers: req.headers,
    query: Object.fromEntries(url.searchParams),
    body: isForm ? Object.fromEntries(new URLSearchParams(raw)) : {},
  });
}

async function token(req, res, url, raw) {
  const request = oauthRequest(req, url, raw);
  const grant = request.body.grant_type;
  bump(counters.token_requests,
    grant === 'client_credentials' || grant === 'refresh_token' ? grant : 'other');
  const authorization = req.headers.authorization || '';
  bump(counters.token_client_auth, /^basic /i.test(authorization) ? 'basic'
    : request.body.client_secret !== undefined ? 'body' : 'none');
  const response = new Response();
  try {
    await currentGrant.run(grant, () => oauth.token(request, response));
  } catch (error) {
    bump(counters.token_refusals, error.name || 'unknown');
  }
  send(res, response);
}

async function search(req, res, url, raw) {
  counters.api_calls++;
  const request = oauthRequest(req, url, raw);
  const response = new Response();
  try {
    const granted = await oauth.authenticate(request, response);
    sendJson(res, 200, {
      query: url.searchParams.get('query') || '',
      client_id: granted.client.id,
      results: [],
    });
  } catch (error) {
    const code = error instanceof UnauthorizedRequestError ? 'no_token' : (error.name || 'unknown');
    bump(counters.api_refusals, code);
    response.status = error instanceof OAuthError ? error.code : 500;
    // Like express-oauth-server: no body when the request carried no credentials.
    response.body = error instanceof UnauthorizedRequestError
      ? {} : { error: error.name, error_description: error.message };
    send(res, response);
  }
}

function voidTokens(map, clientId) {
  let n = 0;
  for (const [key, record] of map) {
    if (clientId === null || record.clientId === clientId) {
      map.delete(key);
      n++;
    }
  }
  return n;
}

function admin(req, res, url) {
  const clientId = url.searchParams.get('client_id');
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /admin/counters':
      return sendJson(res, 200, { ...counters, clock_offset_ms: offsetMs, now_ms: virtualNow() });
    case 'POST /admin/advance': {
      const seconds = Number(url.searchParams.get('seconds'));
      if (!Number.isFinite(seconds) || seconds < 0) {
        return sendJson(res, 400, { error: 'seconds must be a number >= 0' });
      }
      offsetMs += Math.round(seconds * 1000);
      return sendJson(res, 200, { clock_offset_ms: offsetMs, now_ms: virtualNow() });
    }
    case 'POST /admin/revoke-access-tokens':
      return sendJson(res, 200, { revoked: voidTokens(accessTokens, clientId) });
    case 'POST /admin/forget-refresh-tokens': {
      const forgotten = voidTokens(refreshTokens, clientId);
      counters.refresh_tokens_voided += forgotten;
      return sendJson(res, 200, { forgotten });
    }
    default:
      return sendJson(res, 404, { error: 'no such admin route' });
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const raw = await readBody(req);
    if (options.verbose) process.stderr.write(`${req.method} ${url.pathname}\n`);
    if (url.pathname === '/oauth2/token') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'invalid_request' });
      return await token(req, res, url, raw);
    }
    if (url.pathname === '/v1/searchoauth') {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'invalid_request' });
      return await search(req, res, url, raw);
    }
    if (url.pathname.startsWith('/admin/')) return admin(req, res, url);
    return sendJson(res, 404, { error: 'not_found' });
  } catch (error) {
    process.stderr.write(`server.js: ${error && error.stack}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  }
});

server.listen(options.port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
server.on('error', (error) => fail(error.message));

// Exit when the parent closes our stdin (or dies).
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
