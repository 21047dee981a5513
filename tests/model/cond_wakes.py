#!/usr/bin/env python3
"""Exhaustive check of condvar's rationed, watched wakes (primitives/condvar.c).

A model of one condition queue -- its word (seq, pending, waiters) and its
sleepers count -- under a bounded buffer with unbounded room: each producer
locks, adds an item, signals, unlocks; each consumer locks, waits while no
item is there, takes one, unlocks.  Every interleaving is explored
breadth-first, each step one atomic action, sequentially consistent (the
code's seq_cst RMWs, loads and fence give that for the steps that need it).
A lost wake-up is a state with no step left in which an item is there and
a consumer has not finished; the queue must also end clean when everyone
has.

The steps, by the function they stand for:
  cv_wait     (mutex held) fetch-and-add waiters+1, keeping seq; unlock;
              cv_seq_moves: seq moved -> skip the sleep (either outcome is
              possible while it watches); else sleepers+1, FUTEX_WAIT while
              seq is what was read, sleepers-1; then one RMW: waiters-1,
              take up a pending wake, pending clamped to the waiters left;
              lock
  cv_wake     load; CAS seq+1 and pending+1 (broadcast: pending = waiters)
              while waiters > pending, else return; load sleepers; if any,
              FUTEX_WAKE one (broadcast: all)
The mutex is an abstract lock.  Options: --outside (signal after unlocking),
--broadcast (every signal a broadcast), --spurious (a sleeper may return on
its own).

Mutations (--mutant NAME) must make the check fail: 'count-read-first'
(the signaller reads the sleepers count before it moves seq, the order the
code's seq_cst pair forbids), 'no-take-up' (leaving does not take up a
pending wake).
"""
import argparse
import sys

from explore import explore, mutants_caught, verdict


def model(producers, consumers, outside=False, broadcast=False,
            spurious=False, mutant=''):
    nthreads = producers + consumers
    start = (-1, 0, (0, 0, 0), 0,
             tuple(('p_lock' if i < producers else 'c_lock', None, None)
                   for i in range(nthreads)),
             frozenset())

    def successors(state):
        holder, items, word, sleepers, threads, queued = state
        seq, pending, waiters = word
        for i, (pc, snap, mine) in enumerate(threads):
            def go(npc, nsnap=None, nmine=None, nholder=holder, nitems=items,
                   nword=word, nsleepers=sleepers, nqueued=queued):
                t = list(threads)
                t[i] = (npc, nsnap, nmine)
                return (nholder, nitems, nword, nsleepers, tuple(t), nqueued)
            after_signal = 'done' if outside else 'p_unlock'
            if i in queued:
                if spurious:
                    yield go('c_awake', nmine=mine, nqueued=queued - {i})
                continue
            if pc == 'p_lock':
                if holder == -1:
                    yield go('p_add', nholder=i)
            elif pc == 'p_add':
                yield go('p_unlock_first' if outside else 's_load',
                         nitems=items + 1)
            elif pc == 'p_unlock_first':
                yield go('s_load', nholder=-1)
            elif pc == 's_load':
                # mine: the sleepers count, read here by the mutant only
                yield go('s_cas', word, sleepers)
            elif pc == 's_cas':
                s, p, w = snap
                if w <= p:
                    yield go(after_signal)
                elif word == snap:
                    np = w if broadcast else p + 1
                    yield go('s_sleepers', nmine=mine, nword=(s + 1, np, w))
                else:
                    yield go('s_cas', word, mine)
            elif pc == 's_sleepers':
                n = mine if mutant == 'count-read-first' else sleepers
                yield go('s_call' if n > 0 else after_signal)
            elif pc == 's_call':
                if queued and broadcast:
                    yield go(after_signal, nqueued=frozenset())
                elif queued:
                    for j in queued:
                        yield go(after_signal, nqueued=queued - {j})
                else:
                    yield go(after_signal)
            elif pc == 'p_unlock':
                yield go('done', nholder=-1)
            elif pc == 'c_lock':
                if holder == -1:
                    yield go('c_check', nholder=i)
            elif pc == 'c_check':
                if items > 0:
                    yield go('c_unlock', nitems=items - 1)
                else:
                    yield go('c_unlock_wait', nmine=seq,
                             nword=(seq, pending, waiters + 1))
            elif pc == 'c_unlock_wait':
                yield go('c_watch', nmine=mine, nholder=-1)
            elif pc == 'c_watch':
                if seq != mine:
                    yield go('c_leave', nmine=mine)
                yield go('c_futex', nmine=mine, nsleepers=sleepers + 1)
            elif pc == 'c_futex':
                if seq == mine:
                    yield go('c_awake', nmine=mine, nqueued=queued | {i})
                else:
                    yield go('c_awake', nmine=mine)
            elif pc == 'c_awake':
                yield go('c_leave', nmine=mine, nsleepers=sleepers - 1)
            elif pc == 'c_leave':
                np = pending - 1 if pending > 0 and mutant != 'no-take-up' else pending
                np = min(np, waiters - 1)
                yield go('c_lock', nword=(seq, np, waiters - 1))
            elif pc == 'c_unlock':
                yield go('done', nholder=-1)

    def judge(state):
        _, items, word, sleepers, threads, _ = state
        finished = all(t[0] == 'done' for t in threads)
        if items > 0 and not finished:
            return 'lost wake-up'
        if finished and (word[1:] != (0, 0) or sleepers != 0):
            return 'queue not clean'
        return None

    return explore(start, successors, judge)


CONFIGS = [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3)]  # producers, consumers
VARIANTS = [dict(), dict(outside=True), dict(broadcast=True), dict(spurious=True)]
MUTANT_CONFIG = (2, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--outside', action='store_true')
    ap.add_argument('--broadcast', action='store_true')
    ap.add_argument('--spurious', action='store_true')
    ap.add_argument('--mutant', default='')
    ap.add_argument('config', nargs='*', type=int,
                    help='PRODUCERS CONSUMERS (default: the built-in set)')
    a = ap.parse_args()
    failed = False
    if a.config:
        runs = [(tuple(a.config), dict(outside=a.outside, broadcast=a.broadcast,
                                       spurious=a.spurious))]
    else:
        runs = [(c, v) for c in CONFIGS for v in VARIANTS
                if not (c == (3, 3) and v.get('outside'))]
    for (producers, consumers), v in runs:
        n, faults = model(producers, consumers, mutant=a.mutant, **v)
        print('condvar: %d producer(s), %d consumer(s)%s: %d states, %s'
              % (producers, consumers, ''.join(', ' + k for k in v if v[k]), n,
                 verdict(faults)))
        failed |= bool(faults)
    if not a.config and not a.mutant:
        failed |= not mutants_caught('condvar', lambda m: model(*MUTANT_CONFIG, mutant=m),
                                     ('count-read-first', 'no-take-up'))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
