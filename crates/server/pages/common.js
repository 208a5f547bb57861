// What the agent console and the dashboard share: finding elements, making elements whose text
// is set as text (never parsed as HTML), the status line, and JSON calls with a bearer token.
// Served as /console/common.js and /dashboard/common.js, loaded before each page's own script.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function say(text) { $('status').textContent = text || ''; }

/**
 * A JSON call with `Authorization: Bearer <token>`. A refusal throws an error whose message is
 * the problem document's detail and whose `status` is the HTTP status.
 */
async function call(token, method, path, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const e = new Error(data && data.detail ? data.detail : r.statusText);
    e.status = r.status;
    throw e;
  }
  return data;
}
