#!/usr/bin/env node
// A restauth client with fetch (Node 20 or later, or a browser; no packages):
// the REST-auth calls, then sessions.
//
//   node examples/js/client.mjs [BASE_URL]     (default http://127.0.0.1:5000)
//
// It registers a fresh user, calls a protected route with Basic credentials,
// gets a token with GET /api/token and uses it both ways (as the Basic
// username, REST-auth style, and as a Bearer token), then opens a session
// with POST /api/tokens, refreshes it, logs out, and checks that the ended
// session's tokens are refused. Every answer is checked; any surprise exits
// non-zero.
import { randomBytes } from "node:crypto";

const BASE = (process.argv[2] ?? "http://127.0.0.1:5000").replace(/\/+$/, "");
const TIMEOUT_MS = 10_000; // a stuck server fails the example instead of hanging it

const basic = (user, pass) =>
  "Basic " + Buffer.from(`${user}:${pass}`, "utf8").toString("base64");
const bearer = (token) => `Bearer ${token}`;

class Unexpected extends Error {}

// call makes one request and returns its JSON body (null for 204) after
// checking the status and that the named fields are present.
async function call(method, path, { auth, json, status, fields = [] }) {
  const headers = {};
  if (auth) headers.Authorization = auth;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== status) {
    throw new Unexpected(`${method} ${path}: got ${res.status} ${text}, want ${status}`);
  }
  if (status === 204) return { body: null, res };
  const body = JSON.parse(text);
  const missing = fields.filter((f) => !(f in body));
  if (missing.length > 0) {
    throw new Unexpected(`${method} ${path}: answer ${text} lacks ${missing.join(", ")}`);
  }
  return { body, res };
}

function check(cond, message) {
  if (!cond) throw new Unexpected(message);
}

async function main() {
  const username = "js-" + randomBytes(4).toString("hex");
  const password = randomBytes(16).toString("base64url"); // never printed

  // Register: 201, the user, and where it lives.
  const reg = await call("POST", "/api/users", {
    json: { username, password }, status: 201, fields: ["id", "username"],
  });
  const location = reg.res.headers.get("Location") ?? "";
  check(reg.body.username === username && location.endsWith(`/api/users/${reg.body.id}`),
    `register: unexpected answer ${JSON.stringify(reg.body)}, Location ${location}`);
  console.log(`registered ${username} as id ${reg.body.id}`);

  // A protected route with HTTP Basic, and a wrong password refused.
  const hello = await call("GET", "/api/resource", {
    auth: basic(username, password), status: 200, fields: ["data"],
  });
  check(hello.body.data === `Hello, ${username}!`, `resource: got ${JSON.stringify(hello.body)}`);
  await call("GET", "/api/resource", { auth: basic(username, password + "x"), status: 401, fields: ["error"] });
  console.log("Basic: ok");

  // The REST-auth token, as the Basic username and as a Bearer token.
  const tok = await call("GET", "/api/token", {
    auth: basic(username, password), status: 200, fields: ["token", "duration"],
  });
  await call("GET", "/api/resource", { auth: basic(tok.body.token, "unused"), status: 200, fields: ["data"] });
  await call("GET", "/api/resource", { auth: bearer(tok.body.token), status: 200, fields: ["data"] });
  console.log(`token: ok, valid for ${tok.body.duration} s`);

  // A session: an access and a refresh token.
  const pair = await call("POST", "/api/tokens", {
    auth: basic(username, password), status: 200,
    fields: ["access_token", "refresh_token", "expires_in"],
  });
  await call("GET", "/api/resource", { auth: bearer(pair.body.access_token), status: 200, fields: ["data"] });

  // Refresh: a new pair; the access token it returns works.
  const next = await call("POST", "/api/tokens/refresh", {
    json: { refresh_token: pair.body.refresh_token }, status: 200,
    fields: ["access_token", "refresh_token"],
  });
  check(next.body.refresh_token !== pair.body.refresh_token, "refresh: the refresh token was not rotated");
  const access = bearer(next.body.access_token);
  await call("GET", "/api/resource", { auth: access, status: 200, fields: ["data"] });
  console.log("refresh: ok");

  // Logout ends the session: its access token is refused at once, and so is
  // its refresh token.
  await call("POST", "/api/logout", { auth: access, status: 204 });
  const after = await call("GET", "/api/resource", { auth: access, status: 401, fields: ["error"] });
  check(after.body.error === "invalid_token", `after logout: got ${JSON.stringify(after.body)}, want invalid_token`);
  const stale = await call("POST", "/api/tokens/refresh", {
    json: { refresh_token: next.body.refresh_token }, status: 400, fields: ["error"],
  });
  check(stale.body.error === "invalid_grant",
    `refresh after logout: got ${JSON.stringify(stale.body)}, want invalid_grant`);
  console.log("logout: ok");
}

main().catch((err) => {
  console.error(err instanceof Unexpected ? err.message : err);
  process.exit(1);
});
