// EventEmitter3 in Node, the reference issue 2 names for beckon-core's bus ("about 46 million
// events/s to one listener and 9 million/s to ten on this kind of machine"), measured in the same
// run as the bus so that the comparison does not depend on how fast this machine is today.
// The same shape as the figures: one prebuilt event object emitted to one listener, and
// to ten; each listener reads a field. Then the same with what the bus guarantees on top, a copy
// of the event per listener (`{ ...event }`), so no listener can change what another gets.
// Median of 5 runs of 5,000,000 emits each after a warm-up. Prints `ee3/one`, `ee3/ten`,
// `ee3/one_copy`, `ee3/ten_copy` with events/s; `bash bench/run.sh core` reads them.
import EventEmitter from 'eventemitter3';

const N = 5_000_000;
const event = {
  actionId: '6f1c7c1e-2b0a-4c55-9d3e-1a2b3c4d5e6f', actionState: 'offered',
  actionMediaType: 'webchat', actionMapId: '0b7c2f1d-8e61-4c39-9a4e-5e1f6c0a7d2b',
  actionMapVersion: 3, customerId: '4d5e6f70-8192-4a3b-8c4d-5e6f708192a3', customerIdType: 'cookie',
  sessionId: '7d2b4c39-9a4e-4b7c-8f1d-8e615e1f6c0a', eventId: '1a2b3c4d-5e6f-4708-9192-a3b4c5d6e7f8',
  timestamp: '2026-11-29T05:40:00.000Z',
};
let sink = 0;
function rate(listeners, copy) {
  const ee = new EventEmitter();
  const listener = copy
    ? (e) => { const own = { ...e }; sink += own.actionMapVersion; }
    : (e) => { sink += e.actionMapVersion; };
  for (let i = 0; i < listeners; i++) ee.on('webchat:offered', listener);
  const runs = [];
  for (let r = 0; r < 6; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) ee.emit('webchat:offered', event);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r > 0) runs.push(N / seconds); // the first run warms up
  }
  return runs.sort((a, b) => a - b)[2];
}
console.log(`ee3/one ${Math.round(rate(1, false))}`);
console.log(`ee3/ten ${Math.round(rate(10, false))}`);
console.log(`ee3/one_copy ${Math.round(rate(1, true))}`);
console.log(`ee3/ten_copy ${Math.round(rate(10, true))}`);
if (sink === 0) console.error('no listener ran');
