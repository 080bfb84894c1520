// The JSON API as the desk calls it. The key lives in sessionStorage (this tab only, never a
// URL) and goes out as an Authorization header; cookies are never sent.
"use strict";

const KEY = "labelwise.key";

export const session = {
  key: sessionStorage.getItem(KEY),
  // Called when the server refuses the key (401): the desk signs out.
  onRefused: () => {},
};

export function keepKey(key) {
  session.key = key;
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

function headers(json) {
  const h = { Authorization: `Bearer ${session.key}` };
  if (json) h["Content-Type"] = "application/json";
  return h;
}

export async function api(method, path, body, keepalive = false) {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    keepalive,
  });
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.status === 401) session.onRefused("Your key was refused: sign in again.");
  return { status: response.status, ok: response.ok, data };
}

export function errorText(result) {
  const error = result.data && result.data.error;
  return error ? error.message : `The server answered ${result.status}.`;
}
