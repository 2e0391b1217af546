// The one Cloudflare API client of the project's tools (clicks report, promotion).
// Credentials come from the environment: CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_API_TOKEN. CLOUDFLARE_API_BASE points it at another address (the tests'
// local stand-in); the default is the real API.

export const DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4";

/** An error a tool reports as one line, with the exit code to use. */
export class ToolError extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

/** Account id, token and base address, or a ToolError naming what is missing (exit 2). */
export function credentials(env = process.env, what = "this command", permission = "Account Analytics: Read") {
  const missing = ["CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"].filter((name) => !env[name]);
  if (missing.length) {
    throw new ToolError(`${what} needs ${missing.join(" and ")} (an API token with ${permission})`, 2);
  }
  return { account: env.CLOUDFLARE_ACCOUNT_ID, token: env.CLOUDFLARE_API_TOKEN, base: (env.CLOUDFLARE_API_BASE || DEFAULT_API_BASE).replace(/\/$/, "") };
}

/**
 * Run one Analytics Engine SQL query (POST /accounts/<id>/analytics_engine/sql, the
 * query as the body) and return its rows. The API answers `FORMAT JSON` as
 * `{ meta, data, rows }`; 64-bit sums may come as strings, so callers use Number().
 */
export async function analyticsSql(creds, sql) {
  const url = `${creds.base}/accounts/${encodeURIComponent(creds.account)}/analytics_engine/sql`;
  let res;
  try {
    res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${creds.token}` }, body: sql });
  } catch (e) {
    throw new ToolError(`Analytics Engine SQL API unreachable at ${url}: ${e.cause?.message ?? e.message}`);
  }
  const text = await res.text();
  if (!res.ok) throw new ToolError(`Analytics Engine SQL API answered ${res.status}: ${text.slice(0, 500)}`);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ToolError(`Analytics Engine SQL API answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(body.data)) throw new ToolError(`Analytics Engine SQL API answer has no data array: ${text.slice(0, 200)}`);
  return body.data;
}

/**
 * One call of the Cloudflare v4 API (`{ success, errors, result, result_info }`):
 * the whole answer, or a ToolError with the API's own error messages.
 */
export async function cfApi(creds, method, path, body) {
  const url = `${creds.base}${path}`;
  const init = { method, headers: { authorization: `Bearer ${creds.token}` } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ToolError(`${method} ${url}: unreachable (${e.cause?.message ?? e.message})`);
  }
  const text = await res.text();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new ToolError(`${method} ${url}: ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok || answer.success === false) {
    const why = (answer.errors ?? []).map((e) => `${e.code ?? ""} ${e.message ?? ""}`.trim()).join("; ") || text.slice(0, 200);
    throw new ToolError(`${method} ${url}: ${res.status}: ${why}`);
  }
  return answer;
}

/** A string literal for Analytics Engine SQL (quotes and backslashes escaped). */
export function sqlString(value) {
  return `'${String(value).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** `toDateTime('YYYY-MM-DD HH:MM:SS')` for a Date, in UTC. */
export function sqlTime(date) {
  return `toDateTime('${date.toISOString().slice(0, 19).replace("T", " ")}')`;
}
