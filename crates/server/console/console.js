// The Beckon agent console: sign in, presence, the queue, conversations, typing indicators.
// Everything from the server is set with textContent, never as HTML. No framework, no inline
// code: it runs under `script-src 'self'`. `$`, `el`, `say` and `call` are in common.js.
'use strict';

const state = {
  token: sessionStorage.getItem('beckon.agent'), current: null, chats: new Map(), socket: null,
  // The server's message limit (from `me`), and the text last sent, restored if it is refused.
  maxBytes: 4096, unsent: null,
};

/** A call with the agent's token; a 401 means the sign-in is gone. */
async function api(method, path, body) {
  try {
    return await call(state.token, method, path, body);
  } catch (e) {
    if (e.status === 401) { signedOut(e.message); throw new Error('Signed out: ' + e.message); }
    throw e;
  }
}

/** The sign-in is gone (`why`, shown when given): back to the sign-in form. */
function signedOut(why) {
  sessionStorage.removeItem('beckon.agent');
  state.token = null;
  if (state.socket) state.socket.close();
  $('desk').hidden = true; $('me').hidden = true; $('sign-in').hidden = false;
  if (why) say('Signed out: ' + why);
}

async function signIn(event) {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const r = await fetch('/api/v1/agent/sessions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: $('email').value, password: $('password').value }),
  });
  const data = await r.json();
  if (!r.ok) { $('sign-in-error').textContent = data.detail || 'Sign-in refused'; return; }
  state.token = data.token;
  sessionStorage.setItem('beckon.agent', data.token);
  $('password').value = '';
  start();
}

async function refreshMe() {
  const me = await api('GET', '/api/v1/agent/me');
  $('me-name').textContent = me.agent.name;
  $('presence').value = me.presence;
  $('load').textContent = me.active + ' / ' + me.capacity + ' chats';
  state.maxBytes = me.maxMessageBytes;
}

function label(c) {
  const name = c.actionMap && c.actionMap.name ? c.actionMap.name : 'chat';
  return name + ' · ' + new Date(c.createdAt).toLocaleTimeString();
}

async function refreshLists() {
  const [queue, mine] = await Promise.all([api('GET', '/api/v1/agent/queue'), api('GET', '/api/v1/agent/conversations')]);
  $('queue-count').textContent = queue.total;
  $('queue').replaceChildren(...queue.entities.map((c) => el('li', label(c))));
  $('mine').replaceChildren(...mine.entities.map((c) => {
    const li = el('li', label(c));
    if (c.conversationId === state.current) li.classList.add('current');
    if (state.chats.get(c.conversationId)?.unread) li.classList.add('unread');
    li.addEventListener('click', () => open(c.conversationId));
    return li;
  }));
  await refreshMe();
}

function entryItem(f) {
  if (f.type === 'message') {
    return el('li', (f.from === 'agent' ? (f.agentName || 'Agent') : f.from === 'visitor' ? 'Visitor' : 'Beckon') + ': ' + f.text, f.from === 'agent' ? 'agent' : 'visitor');
  }
  if (f.type === 'joined') return el('li', f.agentName + ' joined', 'event');
  if (f.type === 'ended') return el('li', 'Ended by ' + f.by, 'event');
  return el('li', f.type, 'event');
}

function show(f) {
  const chat = state.chats.get(f.conversationId) || { last: 0, unread: false };
  if (f.seq <= chat.last) return;
  chat.last = f.seq;
  state.chats.set(f.conversationId, chat);
  if (f.conversationId === state.current) {
    $('entries').append(entryItem(f));
    $('entries').scrollTop = $('entries').scrollHeight;
    if (f.type === 'ended') $('compose').hidden = true;
  } else {
    chat.unread = true;
  }
}

function facts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
}

async function open(id) {
  state.current = id;
  const c = await api('GET', '/api/v1/agent/conversations/' + id);
  state.chats.set(id, { last: 0, unread: false });
  $('chat').hidden = false; $('visitor').hidden = false; $('compose').hidden = false;
  $('chat-title').textContent = label(c);
  $('entries').replaceChildren();
  $('typing').textContent = '';
  presence(c.visitorConnected);
  c.entries.forEach(show);
  const v = c.visitor;
  facts($('visitor-facts'), [
    ['Customer', v.customerId], ['Session', v.sessionId],
    ['Action map', (c.actionMap.name || c.actionMap.id) + ' (v' + c.actionMap.version + ')'],
    ['Segments', v.segments.map((s) => s.name || s.id).join(', ') || 'none'],
  ]);
  facts($('visitor-form'), Object.entries(v.form || {}));
  $('visitor-pages').replaceChildren(...v.pages.map((p) => el('li', (p.title ? p.title + ' — ' : '') + p.url + (p.count > 1 ? ' (×' + p.count + ')' : ''))));
  refreshLists();
}

// Whether the visitor has the chat open (a socket connected): said only when they do not.
function presence(connected) {
  $('visitor-presence').textContent = connected ? '' : 'The visitor is not connected: they left the page or lost their connection.';
}

let typingTimer = null;
function onFrame(f) {
  if (f.type === 'queue' || f.type === 'assigned') { refreshLists().catch((e) => say(e.message)); return; }
  if (f.type === 'visitor') {
    if (f.conversationId === state.current) presence(f.connected);
    return;
  }
  if (f.type === 'typing') {
    if (f.conversationId !== state.current) return;
    $('typing').textContent = 'The visitor is typing…';
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { $('typing').textContent = ''; }, 3000);
    return;
  }
  if (f.type === 'error') {
    say(f.detail);
    if (state.unsent !== null && !$('text').value) $('text').value = state.unsent;
    state.unsent = null;
    return;
  }
  if (f.type === 'message' && f.from === 'agent' && f.text === state.unsent) state.unsent = null;
  if (f.conversationId === state.current) $('typing').textContent = '';
  show(f);
  if (f.type === 'ended' || f.conversationId !== state.current) refreshLists().catch((e) => say(e.message));
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(scheme + location.host + '/api/v1/agent/ws?access_token=' + encodeURIComponent(state.token));
  state.socket = ws;
  ws.addEventListener('message', (m) => onFrame(JSON.parse(m.data)));
  ws.addEventListener('open', () => { say(''); if (state.current) open(state.current); });
  ws.addEventListener('close', (e) => {
    if (!state.token) return;
    // 1008: this sign-in ended or expired (the reason says which); reconnecting cannot help.
    if (e.code === 1008) { signedOut(e.reason); return; }
    say('Connection lost; reconnecting…');
    setTimeout(connect, 2000);
  });
}

const connected = () => state.socket && state.socket.readyState === WebSocket.OPEN;

let lastTyping = 0;
function typing() {
  if (!state.current || !connected() || Date.now() - lastTyping < 2000) return;
  lastTyping = Date.now();
  state.socket.send(JSON.stringify({ type: 'typing', conversationId: state.current }));
}

function send(event) {
  event.preventDefault();
  const text = $('text').value;
  if (!text.trim() || !state.current) return;
  // The text stays in the field unless it really goes.
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > state.maxBytes) { say('Not sent: the message has ' + bytes + ' bytes, at most ' + state.maxBytes + '.'); return; }
  if (!connected()) { say('Not sent: not connected. It is kept; send it again once reconnected.'); return; }
  state.socket.send(JSON.stringify({ type: 'message', conversationId: state.current, text }));
  state.unsent = text;
  $('text').value = '';
}

async function start() {
  $('sign-in').hidden = true; $('desk').hidden = false; $('me').hidden = false;
  connect();
  await refreshLists();
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in').addEventListener('submit', (e) => signIn(e).catch((x) => say(x.message)));
  $('sign-out').addEventListener('click', () => api('DELETE', '/api/v1/agent/sessions/current').finally(() => signedOut()));
  $('presence').addEventListener('change', () => api('PUT', '/api/v1/agent/presence', { presence: $('presence').value }).then(refreshMe).catch((e) => say(e.message)));
  $('accept').addEventListener('click', () => api('POST', '/api/v1/agent/queue/accept').then((c) => open(c.conversationId)).catch((e) => say(e.message)));
  $('end').addEventListener('click', () => api('POST', '/api/v1/agent/conversations/' + state.current + '/end').catch((e) => say(e.message)));
  $('compose').addEventListener('submit', send);
  $('text').addEventListener('input', typing);
  if (state.token) start().catch((e) => say(e.message));
});
