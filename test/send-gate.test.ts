/**
 * The gate in front of the batches queued in the write threads (core/execute/send-gate.ts), driven
 * from one thread: its state is a SharedArrayBuffer, read the same way from any thread.
 */
import { describe, expect, it } from 'vitest';
import { enter, leave, SendGate } from '../core/execute/send-gate.js';

/** Whether `promise` has settled after the event loop has run what it can. */
async function settled<T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void promise.then((value) => (state = { done: true, value }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return state;
}

const go = { hold: false, stop: false };

// Every call entered is left again: a thread's own count of calls outlives a gate.
describe('send gate', () => {
  it('lets `concurrency` calls through at once; the next waits for a slot', async () => {
    const gate = new SendGate(2, 4);
    const ticket = gate.ticket(0);
    expect(await enter(ticket)).toBe(true);
    expect(await enter(ticket)).toBe(true);
    const third = enter(ticket);
    expect((await settled(third)).done).toBe(false);
    leave(ticket, go);
    expect(await settled(third)).toEqual({ done: true, value: true });
    leave(ticket, go);
    leave(ticket, go);
  });

  it('lets one thread carry no more calls than its client is sized for, though the gate has room', async () => {
    const gate = new SendGate(4, 1);
    const ticket = gate.ticket(0);
    expect(await enter(ticket)).toBe(true);
    const second = enter(ticket);
    expect((await settled(second)).done).toBe(false);
    leave(ticket, go);
    expect(await settled(second)).toEqual({ done: true, value: true });
    leave(ticket, go);
  });

  it('holds queued batches from a failing answer until the executor has judged it', async () => {
    const gate = new SendGate(1, 2);
    const ticket = gate.ticket(0);
    expect(await enter(ticket)).toBe(true);
    const queued = enter(ticket);
    // The slot frees with a hold: the queued batch must not take it.
    leave(ticket, { hold: true, stop: false });
    expect((await settled(queued)).done).toBe(false);
    gate.release();
    expect(await settled(queued)).toEqual({ done: true, value: true });
    leave(ticket, go);
  });

  it('sends queued batches back unsent once the run stops, from a thread or from the executor', async () => {
    const gate = new SendGate(1, 2);
    const ticket = gate.ticket(0);
    expect(await enter(ticket)).toBe(true);
    const queued = enter(ticket);
    leave(ticket, { hold: true, stop: true });
    expect(await settled(queued)).toEqual({ done: true, value: false });
    const other = new SendGate(1, 2);
    const held = other.ticket(0);
    other.hold();
    const waiting = enter(held);
    expect((await settled(waiting)).done).toBe(false);
    other.stop();
    expect(await settled(waiting)).toEqual({ done: true, value: false });
  });

  it('sends back a batch built before a heal once the heal is done, and lets a new one through', async () => {
    const gate = new SendGate(2, 2);
    const old = gate.ticket(0);
    gate.hold();
    const queued = enter(old);
    expect((await settled(queued)).done).toBe(false);
    gate.setGeneration(1);
    gate.release();
    expect(await settled(queued)).toEqual({ done: true, value: false });
    const healed = gate.ticket(1);
    expect(await enter(healed)).toBe(true);
    leave(healed, go);
  });
});
