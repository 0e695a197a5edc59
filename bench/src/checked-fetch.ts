// Every answer a benchmark times is checked: a figure must never come from failed requests.

/** POSTs JSON (with its content type) and returns the parsed answer; any status but 2xx throws. */
export async function postJson<T = unknown>(url: string, body: unknown): Promise<T> {
  return checked<T>(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
    `POST ${url}`,
  );
}

/** GETs JSON; any status but 2xx throws. */
export async function getJson<T = unknown>(url: string): Promise<T> {
  return checked<T>(await fetch(url), `GET ${url}`);
}

/** The parsed JSON of a 2xx answer; otherwise an error naming the call, its status and body. */
export async function checked<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
