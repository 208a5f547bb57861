// The loader: runs inside the same closure as the wasm-bindgen glue (xtask puts the glue where
// `__BECKON_GLUE__` is), so the helpers below are visible to the glue by name and nothing leaks
// into the page but the command function. It finds the command queue the snippet made, fetches
// and starts the WebAssembly module, runs the queued calls in order and then takes calls
// directly. Everything else lives in Rust.

var script = document.currentScript;
var base = script && script.src ? new URL('.', script.src).href : new URL('/sdk/v1/', location.href).href;
var name = window._genesysJourneySdk || 'ac';
var stub = window[name];
var broken = false;
var twice = !!(stub && stub.beckon);
// The module's download starts before anything else runs: evaluating the glue takes a few
// milliseconds, and the module is what the SDK waits for.
var download = twice ? null : fetch(new URL('__BECKON_WASM__', base));
// The page's first read of its cookies waits for the browser; done here, it overlaps the
// download, and the SDK's own read at `init` is answered from the page's copy.
try { document.cookie; } catch (error) { /* a sandboxed page has no cookies */ }

// __BECKON_GLUE__

// Helpers the Rust code imports (by name, through the glue). They do what is cheaper or smaller
// in JavaScript: building objects and JSON, dates, calling page functions.
var lastMillis = NaN, lastIso = '';
// RFC 3339 UTC with milliseconds; events come in bursts within one millisecond, so the last one
// is kept.
function beckonIso(ms) {
  if (ms !== lastMillis) { lastMillis = ms; lastIso = new Date(ms).toISOString(); }
  return lastIso;
}
var HEX = [];
for (var h = 0; h < 256; h++) { HEX.push((h + 256).toString(16).slice(1)); }
// A UUID's text from its four 32-bit words (cheaper than decoding a string from wasm memory).
function beckonUuid(a, b, c, d) {
  return HEX[a >>> 24] + HEX[a >>> 16 & 255] + HEX[a >>> 8 & 255] + HEX[a & 255] + '-' +
    HEX[b >>> 24] + HEX[b >>> 16 & 255] + '-' + HEX[b >>> 8 & 255] + HEX[b & 255] + '-' +
    HEX[c >>> 24] + HEX[c >>> 16 & 255] + '-' + HEX[c >>> 8 & 255] + HEX[c & 255] +
    HEX[d >>> 24] + HEX[d >>> 16 & 255] + HEX[d >>> 8 & 255] + HEX[d & 255];
}
// The event object of spec 4.3 (the event id as four words, the time in milliseconds).
function beckonEvent(actionId, actionState, actionMediaType, actionMapId, actionMapVersion,
  customerId, sessionId, e0, e1, e2, e3, ms, errorCode, errorMessage) {
  var e = {
    actionId: actionId, actionState: actionState, actionMediaType: actionMediaType,
    actionMapId: actionMapId, actionMapVersion: actionMapVersion, customerId: customerId,
    customerIdType: 'cookie', sessionId: sessionId, eventId: beckonUuid(e0, e1, e2, e3),
    timestamp: beckonIso(ms)
  };
  if (errorMessage !== undefined) { e.errorCode = errorCode; e.errorMessage = errorMessage; }
  return e;
}
// Each handler's own copy (every field is a primitive): a literal keeps one hidden class.
function beckonCopy(e) {
  var c = {
    actionId: e.actionId, actionState: e.actionState, actionMediaType: e.actionMediaType,
    actionMapId: e.actionMapId, actionMapVersion: e.actionMapVersion, customerId: e.customerId,
    customerIdType: e.customerIdType, sessionId: e.sessionId, eventId: e.eventId, timestamp: e.timestamp
  };
  if (e.errorMessage !== undefined) { c.errorCode = e.errorCode; c.errorMessage = e.errorMessage; }
  return c;
}
// A `forwardTo` data layer's push: `window[global].push(...)` with the event's name and a copy of
// it under `key`, the array created when the page has none.
function beckonForward(global, key, e) {
  var message = { event: 'beckon.' + e.actionMediaType + '.' + e.actionState }, c = beckonCopy(e);
  // Both keys, undefined when not errored: GTM merges pushes key by key, so a later push clears them.
  c.errorCode = e.errorCode; c.errorMessage = e.errorMessage;
  message[key] = c;
  try {
    var layer = window[global];
    if (layer == null) { layer = window[global] = []; }
    if (typeof layer.push !== 'function') {
      console.error('Beckon: window.' + global + ' has no push function');
      return;
    }
    layer.push(message);
  } catch (error) {
    console.error('Beckon: pushing to window.' + global + ' failed:', error);
  }
}
// `autotrackInViewport`: an IntersectionObserver that calls `seen` once for each element matching
// `selector` the first time it becomes visible; undefined when the browser has none.
function beckonObserve(selector, seen) {
  try {
    var elements = document.querySelectorAll(selector);
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (entries[i].isIntersecting) { observer.unobserve(entries[i].target); seen(); }
      }
    });
  } catch (error) { return undefined; }
  for (var i = 0; i < elements.length; i++) { observer.observe(elements[i]); }
  return observer;
}
// `autotrackUrlChange`: `history[method]` calls the original, then `changed` when the URL
// changed, and again for a move made while `changed` ran (it cannot run inside itself); nothing
// it throws reaches the page. Returns what puts the original back unless another script wrapped
// the method since (its wrapper stays; ours then does nothing); undefined when there is none.
function beckonWrapHistory(method, changed) {
  try {
    var target = window.history, original = target[method], running = false, again = false;
    if (typeof original !== 'function') { return undefined; }
    var wrapper = function (state, title, url) {
      var before = location.href, result = original.call(target, state, title, url);
      again = again || location.href !== before;
      if (again && !running) {
        running = true;
        try { while (again) { again = false; changed(); } } catch (e) { again = false; } finally { running = false; }
      }
      return result;
    };
    target[method] = wrapper;
    return function () { if (target[method] === wrapper) { target[method] = original; } };
  } catch (error) { return undefined; }
}
// Spec 4.4 (src/chat/bus.rs): `_genesys.widgets.bus.command('WebChatService.getSessionData')`
// when the page has no Genesys Widgets; answers `{ conversationId }` once a chat has started.
var beckonConversation;
function beckonBus() {
  var only = 'WebChatService.getSessionData';
  var widgets = { bus: { command: function (name) {
    if (name !== only) {
      var problem = "Beckon provides only _genesys.widgets.bus.command('" + only + "')";
      console.error('Beckon: ' + problem);
      return Promise.reject(new Error(problem));
    }
    var data = {};
    if (beckonConversation !== undefined) { data.conversationId = beckonConversation; }
    return Promise.resolve(data);
  } } };
  try {
    var genesys = window._genesys;
    if (genesys != null && genesys.widgets != null) { return undefined; }
    if (typeof genesys !== 'object' || genesys === null) {
      genesys = {};
      Reflect.set(window, '_genesys', genesys);
    }
    Reflect.set(genesys, 'widgets', widgets);
  } catch (error) { /* a page object that throws: the bus is ours all the same */ }
  return widgets;
}
function beckonBusConversation(id) { beckonConversation = id; }
function beckonBusRemove(widgets) {
  beckonConversation = undefined;
  try {
    var genesys = window._genesys;
    if (genesys != null && genesys.widgets === widgets) { Reflect.deleteProperty(genesys, 'widgets'); }
  } catch (error) { /* nothing of ours to take away */ }
}
// Word `index` of the 256 random bits that seed the SDK's ids, drawn once.
var beckonSeedWords;
function beckonSeed(index) {
  if (!beckonSeedWords) {
    beckonSeedWords = new Uint32Array(8);
    try { crypto.getRandomValues(beckonSeedWords); } catch (error) {
      // Only very old browsers lack crypto.
      for (var i = 0; i < 8; i++) { beckonSeedWords[i] = Math.random() * 4294967296; }
    }
  }
  return beckonSeedWords[index];
}
// Calls a page function: 0 when it returned, 1 when it threw, 2 when it returned a promise; the
// error or the promise is then in `beckonOutcome`.
var beckonOutcome;
function beckonCall(f, a, b) {
  try {
    var r = f(a, b);
    if (r instanceof Promise) { beckonOutcome = r; return 2; }
    return 0;
  } catch (error) { beckonOutcome = error; return 1; }
}
function beckonTaken() { var o = beckonOutcome; beckonOutcome = undefined; return o; }
function beckonWindow() { return window; }
function beckonGet(o, k) { try { return Reflect.get(o, k); } catch (e) { return undefined; } }
function beckonGetText(o, k) { var v = beckonGet(o, k); return typeof v === 'string' ? v : undefined; }
function beckonSet(o, k, v) { try { Reflect.set(o, k, v); } catch (e) { /* not an object, or a setter that throws */ } }
function beckonRethrow(error) { setTimeout(function () { throw error; }); }
function beckonText(value) { return String(value); }
function beckonJson(value) { try { return JSON.stringify(value); } catch (e) { return undefined; } }
// Whether a typed custom attribute's value (or its text) reads as its dataType the way the server
// reads it (Rust's `from_str`: an i64, a finite f64, true or false); if so, the value becomes
// that text, which the server takes.
function beckonTyped(a) {
  var t = String(a.value), type = a.dataType, digits = t.replace(/^[+-]?0*/, '');
  if (type !== 'string' && !(type === 'boolean' ? /^(true|false)$/.test(t)
    : type === 'number' ? /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && isFinite(t)
    : /^[+-]?\d+$/.test(t) && (digits.length < 19 || digits.length === 19 &&
      digits <= (t[0] === '-' ? '9223372036854775808' : '9223372036854775807')))) { return false; }
  a.value = t;
  return true;
}
// `u` as the page would follow it (relative to document.baseURI) when that is an http(s) URL the
// server takes (at most 4096 bytes; an href is ASCII); '' when it is not.
function beckonUrl(u) {
  try { u = new URL(u, document.baseURI); } catch (e) { return ''; }
  return /^https?:$/.test(u.protocol) && u.href.length <= 4096 ? u.href : '';
}
function beckonParse(text) { try { return JSON.parse(text); } catch (e) { return undefined; } }
// A web event (Genesys WebEventRequest) as JSON.
function beckonWebEvent(customerCookieId, sessionId, eventName, url, title, ms, attributes) {
  var e = {
    customerCookieId: customerCookieId, sessionId: sessionId, eventName: eventName,
    page: { url: beckonCut(url === undefined ? location.href : url), title: beckonCut(title === undefined ? document.title : title) },
    createdDate: beckonIso(ms)
  };
  if (document.referrer) { e.referrerUrl = beckonCut(document.referrer); }
  if (attributes && Object.keys(attributes).length) { e.attributes = attributes; }
  e.userAgentString = beckonCut(navigator.userAgent);
  return JSON.stringify(e);
}
// `s` cut to the 4096 bytes of UTF-8 the server takes of a text, before a character that would
// not fit: the page's own address, title or referrer can be longer, and the server would refuse
// the whole batch for one of them.
function beckonCut(s) {
  if (s.length <= 1365) { return s; }
  var bytes = new TextEncoder().encode(s), end = 4096;
  if (bytes.length <= end) { return s; }
  while ((bytes[end] & 0xc0) === 0x80) { end--; }
  return new TextDecoder().decode(bytes.subarray(0, end));
}
// Markup the Rust code built with every configured value escaped: a shadow root's content, or
// (with `where`) added by insertAdjacentHTML. A page that enforces Trusted Types gets it through
// a 'beckon' policy. Returns the error's message when the page refuses it.
var beckonPolicy;
function beckonHtml(node, html, where) {
  try {
    if (beckonPolicy) { html = beckonPolicy.createHTML(html); }
    try { put(html); } catch (e) {
      if (beckonPolicy || !window.trustedTypes) { throw e; }
      beckonPolicy = trustedTypes.createPolicy('beckon', { createHTML: function (s) { return s; } });
      put(beckonPolicy.createHTML(html));
    }
  } catch (error) { return String(error && error.message || error); }
  function put(h) { if (where) { node.insertAdjacentHTML(where, h); } else { node.innerHTML = h; } }
}
// Whether `domain` (a `cookieDomain`) includes the page's host.
function beckonCovers(domain) {
  var host = location.hostname, d = domain.replace(/^\./, '').toLowerCase();
  return host === d || host.slice(-d.length - 1) === '.' + d;
}
function beckonPost(url, body) {
  return fetch(url, {
    method: 'POST', body: body, keepalive: body.length < 60000, credentials: 'omit',
    headers: { 'content-type': 'text/plain;charset=UTF-8' }
  }).then(function (r) {
    var reply = { status: r.status, retryAfter: r.headers.get('retry-after'), body: '' };
    // A body that breaks off leaves the status: the server has done what it says (a 2xx sent
    // again would store web events twice), and only its answer is lost.
    return r.text().then(function (t) { reply.body = t; return reply; }, function () { return reply; });
  }, function () {
    // A page being left has its fetches fail at once, though `keepalive` ones still reach the
    // server: the failure is answered after a task, which a page that is gone never runs.
    return new Promise(function (done) { setTimeout(done, 0, { status: 0, retryAfter: null, body: '' }); });
  });
}

function fail(problem) {
  broken = true;
  console.error('Beckon: ' + problem + '. The page is not affected; Beckon stays off.');
}

// The command function the page calls: never throws into the page.
function ac() {
  if (broken) { return; }
  try {
    wasm_bindgen.command(Array.prototype.slice.call(arguments));
  } catch (error) {
    fail('internal error while running ac(' + JSON.stringify(String(arguments[0])) + '): ' + error);
  }
}

if (twice) {
  console.error('Beckon: the SDK script is on this page twice; the second copy does nothing.');
} else {
  ac.l = (stub && stub.l) || Date.now();
  // Until the module is ready, calls wait in the `q` of the function the page calls: the
  // snippet's, which makes the array at its first call (a page may call nothing before this
  // script runs), or one like it.
  if (!stub) { stub = window[name] = function () { (stub.q = stub.q || []).push(arguments); }; }
  // Marked now, not at ready: a second copy of this script (a tag manager and the snippet both
  // adding it) that runs while the module loads then does nothing. `true` is kept for the ready
  // SDK's own function, so a page (or a test) can tell loading from ready.
  stub.beckon = 'loading';
  wasm_bindgen(download).then(function () {
    if (broken) { return; }
    wasm_bindgen.start(new URL(base).origin);
    ac.beckon = true;
    if (wasm_bindgen.test_present) {
      ac.__test = { present: wasm_bindgen.test_present, emit: wasm_bindgen.test_emit,
        reset: wasm_bindgen.test_reset, bench: wasm_bindgen.test_bench };
    }
    window[name] = ac;
    var pending = stub.q || [];
    // The snippet's function, kept by a page and called later, pushes to `ac.q`: run that too.
    ac.q = stub.q = { push: function (args) { ac.apply(null, args); } };
    for (var i = 0; i < pending.length; i++) { ac.apply(null, pending[i]); }
    window.dispatchEvent(new CustomEvent('beckon:ready'));
  }, function (error) {
    var message = String(error && error.message || error);
    if (/Content.Security.Policy|unsafe-eval|wasm-unsafe-eval/i.test(message)) {
      fail("the page's Content-Security-Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src (" + message + ')');
    } else {
      fail('could not load ' + base + '__BECKON_WASM__ (' + message + ')');
    }
  });
}
