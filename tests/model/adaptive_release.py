#!/usr/bin/env python3
"""Exhaustive check of adaptive's two release modes (primitives/adaptive.c).

A model of the lock's word -- LOCKED and WAITERS --, its release mode
(FAST, SWITCHING, SLOW) and calm count, and of every step the lock's
threads take on them, each step one atomic action (a load, an exchange, a
compare-and-swap, a store, a futex call, or membarrier's restart of every
restartable sequence in flight).  Every interleaving of N threads, each
taking and releasing the lock ROUNDS times, is explored breadth-first, with
the mode sent back to FAST after CALM calm releases (the lock's 1024 is out
of reach; the argument does not depend on the number).  Checked: at most
one owner, the word locked while it holds and never WAITERS without
LOCKED; no state left with a thread asleep for good (a lost wake-up); the
word ends free.

The steps, by the function they stand for:
  ad_lock            exchange LOCKED in: 0 out -> owner; else spin, owing
                     the sleepers their wake-up if WAITERS came out
  ad_spin            while the word is free, CAS it to LOCKED (with WAITERS
                     if owed) -> owner, releasing the slow way if it carries
                     WAITERS (or, either way, when the hold is timed); or
                     give up and park (the spin's polls and marks are left
                     out: a mark is a change of the held word, which the
                     CASes and FUTEX_WAIT below see as any other)
  ad_park            load; free -> CAS LOCKED|WAITERS in, owner owing the
                     wake; else CAS WAITERS in unless set; load the mode:
                     not SLOW -> CAS FAST to SWITCHING, membarrier (every
                     release inside its sequence restarts on the slow path),
                     CAS SWITCHING to SLOW; FUTEX_WAIT on the word with
                     WAITERS; back, or the word changed -> spin, owing
  ad_unlock          owing or timed -> the slow way; else the sequence: load
                     the mode, FAST -> store 0 (the word is not read); the
                     kernel may restart it on the slow way before the store
  ad_release         load the mode: SLOW -> read the word's WAITERS for the
                     calm count, CAS SLOW to FAST after CALM in a row;
                     exchange 0 in; WAITERS came out -> FUTEX_WAKE one
The kernel's queue is a set; FUTEX_WAKE takes any one member, and with
--spurious any sleeper may return on its own.

Mutations (--mutant NAME) must make the check fail: 'owner-forgets-waiters'
(an owner that took the lock with WAITERS releases by the sequence),
'no-fence' (a parker that finds FAST sleeps without the switch and its
membarrier), 'fence-restarts-nothing' (membarrier leaves sequences in
flight to store).
"""
import sys

from explore import explore, main_over_configs

FREE = (0, 0)
OWNER_PCS = ('held', 'rel-fast', 'rel-store', 'rel-slow', 'calm', 'calm-cas',
             'xchg')
FAST, SWITCHING, SLOW = 'fast', 'switching', 'slow'


def model(nthreads, rounds, calm_after, spurious=False, mutant=""):
    # thread: (pc, seen, owes, left); seen is the word a step compares
    # with, or, in 'calm-cas', the new calm count
    start = (FREE, FAST, 0, frozenset(),
             tuple(('idle', None, False, rounds) for _ in range(nthreads)),
             None)

    def successors(state):
        word, mode, calm, queued, threads, fault = state
        if fault:
            return
        for i, (pc, seen, owes, left) in enumerate(threads):
            def go(npc, nseen=None, nowes=owes, nleft=left, nword=word,
                   nmode=mode, ncalm=calm, nqueued=queued, nthreads=None):
                t = list(nthreads if nthreads else threads)
                t[i] = (npc, nseen, nowes, nleft)
                owners = [k for k, th in enumerate(t) if th[0] in OWNER_PCS]
                nfault = None
                if len(owners) > 1:
                    nfault = 'two owners'
                elif owners and not nword[0]:
                    nfault = 'the word is free while held'
                elif nword == (0, 1):
                    nfault = 'WAITERS on a free word'
                return (nword, nmode, ncalm, nqueued, tuple(t), nfault)

            def done(nword=word, nqueued=queued):
                return go('idle', nowes=False, nleft=left - 1, nword=nword,
                          nqueued=nqueued)

            if i in queued:
                if spurious:
                    yield go('spin', nowes=True, nqueued=queued - {i})
                continue
            if pc == 'idle':
                if left:
                    locked, waiters = word
                    if not locked:
                        yield go('held', nowes=False, nword=(1, 0))
                    else:
                        yield go('spin', nowes=bool(waiters), nword=(1, 0))
            elif pc == 'spin':
                if not word[0]:
                    nw = (1, 1 if owes else 0)
                    yield go('held', nowes=owes, nword=nw)
                    yield go('held', nowes=True, nword=nw)  # a timed hold
                yield go('park', word)
            elif pc == 'park':
                if not seen[0]:
                    if word == seen:
                        yield go('held', nowes=True, nword=(1, 1))
                    else:
                        yield go('park', word)
                elif not seen[1]:
                    if word == seen:
                        nw = (seen[0], 1)
                        yield go('pmode', nw, nword=nw)
                    else:
                        yield go('park', word)
                else:
                    yield go('pmode', seen)
            elif pc == 'pmode':
                if mode != SLOW and mutant != 'no-fence':
                    yield go('sw1', seen)
                else:
                    yield go('wait', seen)
            elif pc == 'sw1':
                yield go('fence', seen, nmode=SWITCHING if mode == FAST else mode)
            elif pc == 'fence':
                t = list(threads)
                if mutant != 'fence-restarts-nothing':
                    for k, th in enumerate(t):
                        if th[0] == 'rel-store':
                            t[k] = ('rel-slow', None, th[2], th[3])
                yield go('sw2', seen, nthreads=t)
            elif pc == 'sw2':
                yield go('wait', seen, nmode=SLOW if mode == SWITCHING else mode)
            elif pc == 'wait':
                if word == seen:
                    yield go('spin', nowes=True, nqueued=queued | {i})
                else:
                    yield go('spin', nowes=True)
            elif pc == 'held':
                if owes and mutant != 'owner-forgets-waiters':
                    yield go('rel-slow')
                else:
                    yield go('rel-fast')
            elif pc == 'rel-fast':
                yield go('rel-store' if mode == FAST else 'rel-slow')
            elif pc == 'rel-store':
                yield done(FREE)
                yield go('rel-slow')  # preempted inside the sequence
            elif pc == 'rel-slow':
                yield go('calm' if mode == SLOW else 'xchg')
            elif pc == 'calm':
                yield go('calm-cas', 0 if word[1] else calm + 1)
            elif pc == 'calm-cas':
                if seen >= calm_after:
                    yield go('xchg', ncalm=0, nmode=FAST if mode == SLOW else mode)
                else:
                    yield go('xchg', ncalm=seen)
            elif pc == 'xchg':
                if word[1]:
                    yield go('wake', nword=FREE)
                else:
                    yield done(FREE)
            elif pc == 'wake':
                if queued:
                    for j in queued:
                        yield done(nqueued=queued - {j})
                else:
                    yield done()

    def judge(state):
        word, _, _, _, threads, fault = state
        if fault:
            return fault
        if not all(t[0] == 'idle' and t[3] == 0 for t in threads):
            return 'lost wake-up'
        if word != FREE:
            return 'word not free'
        return None

    return explore(start, successors, judge)


CONFIGS = [  # threads, rounds, calm
    (2, 2, 1), (2, 3, 1), (3, 1, 1), (3, 2, 1), (3, 2, 2),
]
MUTANT_CONFIG = (3, 2, 1)


def main():
    return main_over_configs(__doc__, 'adaptive',
                             lambda n, r, c: '%d threads, %d round(s), FAST after %d calm' % (n, r, c),
                             model, CONFIGS, 'THREADS ROUNDS CALM', MUTANT_CONFIG,
                             ('owner-forgets-waiters', 'no-fence',
                              'fence-restarts-nothing'))


if __name__ == '__main__':
    sys.exit(main())
