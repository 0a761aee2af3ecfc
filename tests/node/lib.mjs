// Shared by the client scripts: the gateway from the environment, a fetch that records what
// the SDK sent (never the API key), and one JSON line on stdout with the outcome.
//
// Each script prints {"ok": true, ...its results, "requests": [...]} or
// {"ok": false, "error": {...}, "requests": [...]} and exits 0 / 1.

const KEPT_HEADERS = ['anthropic-beta', 'anthropic-version', 'content-type', 'x-stainless-helper', 'x-stainless-helper-method'];

export function gateway() {
  const base = process.env.GATEWAY_BASE_URL;
  const key = process.env.GATEWAY_API_KEY;
  if (!base || !key) throw new Error('set GATEWAY_BASE_URL and GATEWAY_API_KEY');
  return { base, key, model: process.env.GATEWAY_MODEL };
}

function parse(text) {
  if (typeof text !== 'string') return text == null ? null : `<${typeof text}>`;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function recordingFetch(requests) {
  return async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const entry = {
      method: init.method ?? 'GET',
      path: url.pathname + url.search,
      headers: Object.fromEntries(KEPT_HEADERS.filter((h) => headers.has(h)).map((h) => [h, headers.get(h)])),
      body: parse(init.body),
    };
    requests.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    if (!response.ok) entry.response = parse(await response.clone().text());
    return response;
  };
}

export async function run(main) {
  const requests = [];
  let out;
  try {
    out = { ok: true, ...(await main(recordingFetch(requests))) };
  } catch (error) {
    out = {
      ok: false,
      error: {
        name: error?.name,
        message: String(error?.message ?? error),
        status: error?.status ?? error?.statusCode,
        body: error?.error ?? parse(error?.responseBody),
      },
    };
    process.exitCode = 1;
  }
  process.stdout.write(JSON.stringify({ ...out, requests }) + '\n');
}
