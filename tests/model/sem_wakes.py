#!/usr/bin/env python3
"""Exhaustive check of sem's rationed wakes (primitives/sem.c).

A model of the semaphore word -- (count, pending, waiters) -- and of every
step sem's threads take on it, each step one atomic action (a load, a
compare-and-swap against the value the thread last read, a fetch-and-add,
or a futex call).  Every interleaving of N threads, each doing wait then
post ROUNDS times, is explored breadth-first.  A lost wake-up is a state
with no step left in which some thread has not finished (it sleeps in the
kernel while a permit is free); the word must also end clean.

The steps, by the function they stand for:
  fsem_wait          load (or expect the word the thread's last post left:
                     a CAS against a stale value fails alike); CAS
                     count-1 if a permit shows, else register
                     (the spin before registering only reads: left out)
  fsem_wait_registered
                     count > 0: CAS taking the permit, leaving the waiters
                       and, if back from FUTEX_WAIT, taking up a pending
                       wake (pending clamped to the waiters left);
                     pending > 0: first look again (fsem_await_permit),
                       then CAS taking the wake up;
                     else FUTEX_WAIT while the low half (count, pending)
                       reads 0
  fsem_post / fsem_wake
                     fetch-and-add count+1; if waiters > pending: load, CAS
                     pending+1 while waiters > pending, FUTEX_WAKE one
The kernel's queue is a set; FUTEX_WAKE takes any one member, and with
--spurious any sleeper may return on its own.

Mutations (--mutant NAME) must make the check fail, which shows the model
can see the faults it is meant to: 'compare-count-only' (the futex compares
the count alone, not pending), 'no-take-up' (a waiter back from FUTEX_WAIT
that takes a permit leaves its wake pending).
"""
import sys

from explore import explore, main_over_configs


def model(permits, nthreads, rounds, spurious=False, mutant=""):
    start = ((permits, 0, 0),
             tuple(('idle', None, False, False, rounds) for _ in range(nthreads)),
             frozenset())

    def successors(state):
        word, threads, queued = state
        count, pending, waiters = word
        for i, (pc, seen, back, looked, left) in enumerate(threads):
            def go(npc, nseen=None, nback=False, nlooked=False, nleft=left,
                   nword=word, nqueued=queued):
                t = list(threads)
                t[i] = (npc, nseen, nback, nlooked, nleft)
                return (nword, tuple(t), nqueued)
            if i in queued:
                if spurious:
                    yield go('back', nback=back, nlooked=looked,
                             nqueued=queued - {i})
                continue
            if pc == 'idle':
                if left:
                    yield go('try', word)
            elif pc == 'try':
                if seen[0] > 0:
                    if word == seen:
                        yield go('post', nword=(count - 1, pending, waiters))
                    else:
                        yield go('try', word)
                else:
                    nw = (count, pending, waiters + 1)
                    yield go('reg', nw, nword=nw)
            elif pc == 'reg':
                c, p, w = seen
                if c > 0:
                    np = p - 1 if back and p > 0 and mutant != 'no-take-up' else p
                    np = min(np, w - 1)
                    if word == seen:
                        yield go('post', nword=(c - 1, np, w - 1))
                    else:
                        yield go('reg', word, back, looked)
                elif p > 0:
                    if not looked:
                        yield go('reg', word, back, True)
                    elif word == seen:
                        nw = (c, p - 1, w)
                        yield go('reg', nw, False, looked, nword=nw)
                    else:
                        yield go('reg', word, back, looked)
                else:
                    asleep = count == 0 and (pending == 0 or
                                             mutant == 'compare-count-only')
                    if asleep:
                        yield go('back', nback=back, nlooked=looked,
                                 nqueued=queued | {i})
                    else:
                        yield go('reg', word, True, False)
            elif pc == 'back':
                yield go('reg', word, True, False)
            elif pc == 'post':
                nw = (count + 1, pending, waiters)
                if waiters > pending:
                    yield go('wake', nw, nword=nw)
                else:
                    yield go('idle', nleft=left - 1, nword=nw)
            elif pc == 'wake':
                c, p, w = seen
                if w <= p:
                    yield go('idle', nleft=left - 1)
                elif word == seen:
                    yield go('call', nword=(c, p + 1, w))
                else:
                    yield go('wake', word)
            elif pc == 'call':
                if queued:
                    for j in queued:
                        yield go('idle', nleft=left - 1, nqueued=queued - {j})
                else:
                    yield go('idle', nleft=left - 1)

    def judge(state):
        word, threads, _ = state
        if not all(t[0] == 'idle' and t[4] == 0 for t in threads):
            return 'lost wake-up'
        if word != (permits, 0, 0):
            return 'word not clean'
        return None

    return explore(start, successors, judge)


CONFIGS = [  # permits, threads, rounds
    (1, 2, 2), (1, 3, 1), (2, 3, 1), (1, 3, 2), (2, 3, 2), (1, 4, 1), (2, 4, 1),
]
MUTANT_CONFIG = (1, 3, 1)


def main():
    return main_over_configs(__doc__, 'sem',
                             lambda p, t, r: '%d permit(s), %d threads, %d round(s)' % (p, t, r),
                             model, CONFIGS, 'PERMITS THREADS ROUNDS', MUTANT_CONFIG,
                             ('compare-count-only', 'no-take-up'))


if __name__ == '__main__':
    sys.exit(main())
