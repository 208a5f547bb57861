// The loader: runs inside the same closure as the wasm-bindgen glue (see xtask), so the helpers
// below are visible to the glue by name and nothing leaks into the page but the command function.
// It finds the command queue the snippet made, fetches and starts the WebAssembly module, runs the
// queued calls in order and then takes calls directly. Everything else lives in Rust.

var script = document.currentScript;
var base = script && script.src ? new URL('.', script.src).href : new URL('/sdk/v1/', location.href).href;
var name = window._genesysJourneySdk || 'ac';
var stub = window[name];
var queue = (stub && stub.q) || [];
var broken = false;

// Helpers the Rust code imports (by name, through the glue).
function beckonEvent(actionId, actionState, actionMediaType, actionMapId, actionMapVersion,
  customerId, sessionId, eventId, timestamp, errored, errorCode, errorMessage) {
  var e = {
    actionId: actionId, actionState: actionState, actionMediaType: actionMediaType,
    actionMapId: actionMapId, actionMapVersion: actionMapVersion, customerId: customerId,
    customerIdType: 'cookie', sessionId: sessionId, eventId: eventId, timestamp: timestamp
  };
  if (errored) { e.errorCode = errorCode; e.errorMessage = errorMessage; }
  return e;
}
function beckonCopy(e) { return Object.assign({}, e); }
function beckonRethrow(error) { setTimeout(function () { throw error; }); }
function beckonPost(url, body) {
  return fetch(url, {
    method: 'POST', body: body, keepalive: body.length < 60000, credentials: 'omit',
    headers: { 'content-type': 'text/plain;charset=UTF-8' }
  }).then(function (r) {
    return r.text().then(function (t) { return { status: r.status, retryAfter: r.headers.get('retry-after'), body: t }; });
  }, function () { return { status: 0, retryAfter: null, body: '' }; });
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

if (stub && stub.beckon) {
  console.error('Beckon: the SDK script is on this page twice; the second copy does nothing.');
} else {
  ac.q = queue;
  ac.l = (stub && stub.l) || Date.now();
  if (!stub) { window[name] = function () { queue.push(arguments); }; }
  wasm_bindgen({ module_or_path: new URL('__BECKON_WASM__', base) }).then(function () {
    if (broken) { return; }
    wasm_bindgen.start(base);
    ac.beckon = true;
    if (wasm_bindgen.test_present) {
      ac.__test = { present: wasm_bindgen.test_present, emit: wasm_bindgen.test_emit,
        reset: wasm_bindgen.test_reset, bench: wasm_bindgen.test_bench };
    }
    window[name] = ac;
    var pending = ac.q;
    ac.q = [];
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
