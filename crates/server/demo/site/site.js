// The demo site's event log: each event the SDK delivers to `ac('on', …)` is listed, newest
// first, as text (an event carries configuration text, so it is never parsed as HTML).
'use strict';

/** The handler the pages subscribe with `ac('on', 'contentoffer:all' | 'webchat:all', demoLog)`. */
function demoLog(event) {
  const list = document.getElementById('events');
  if (!list) {
    // The SDK may deliver before the page has been parsed.
    document.addEventListener('DOMContentLoaded', () => demoLog(event), { once: true });
    return;
  }
  const item = document.createElement('li');
  const topic = document.createElement('div');
  topic.className = 'topic';
  topic.textContent = `${event.actionMediaType}:${event.actionState}`;
  const detail = document.createElement('div');
  detail.textContent = `${new Date(event.timestamp).toLocaleTimeString()} · map ${event.actionMapId} v${event.actionMapVersion}`;
  item.dataset.topic = topic.textContent;
  item.append(topic, detail);
  list.prepend(item);
}
