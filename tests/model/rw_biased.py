#!/usr/bin/env python3
"""Exhaustive check of rwlock-biased's bias hand-shake (primitives/rwlock.c).

A model of the words the bias adds to rwlock-percpu -- the bias flag, two
reader slots -- beside the state word's WRITER bit and its count of readers
inside by the word, and of every step the lock's threads take on them, each
step one atomic action; interleaving them is sequential consistency, which
the seq_cst bias and slot accesses give the real lock (the relaxed loads of
the bias are hints the seq_cst steps after them re-check, or, in the writer,
follow the reader that stored the bias by the state word's release
sequence).  Every interleaving of R readers and W writers, each doing its
section ROUNDS times, is explored breadth-first.  Checked: no reader, by a
slot or by the word, is inside while a writer is; no thread is left unable
to go on; the words end clean.

The steps, by the function they stand for:
  rwb_read_lock     load the bias: on -> add to a slot (either: the reader
                    may run on either CPU), load the bias: on -> inside by
                    the slot; off -> leave the slot, go by the word.  By the
                    word: enter when no writer holds it (rwlock's own wait,
                    checked as rwlock is), then, the bias off, either turn it
                    on (the clock says the inhibition has passed) or not
  rwb_read_unlock   leave the slot entered by, or the word
  rwb_write_lock    take WRITER when no reader is inside by the word; load
                    the bias: on -> store it off, wait for each slot to be
                    empty (the drain's sleep and wake are rwlock-percpu's,
                    checked by rw_percpu.py); inside
  write_unlock      clear WRITER

Mutations (--mutant NAME) must make the check fail: 'no-recheck' (a reader
that added itself to a slot does not load the bias again), 'scan-first'
(a writer reads the slots before it turns the bias off), 'restore-outside'
(a reader turns the bias on after leaving by the word).
"""
import sys

from explore import explore, main_over_configs

NSLOTS = 2


def model(nreaders, nwriters, rounds, spurious=False, mutant=""):
    # Nothing sleeps on a futex in this model: the waits are conditions on
    # the words (the futexes behind them are rwlock's and rwlock-percpu's).
    del spurious
    # state: (writer, central, bias, slots, threads, fault)
    # reader: ('r', pc, slot, left); writer: ('w', pc, k, left)
    threads = tuple([('r', 'idle', None, rounds)] * nreaders +
                    [('w', 'idle', 0, rounds)] * nwriters)
    start = (0, 0, 1, (0,) * NSLOTS, threads, None)

    def successors(state):
        writer, central, bias, slots, threads, fault = state
        if fault:
            return
        readers_in = sum(1 for t in threads
                         if t[0] == 'r' and t[1] in ('in', 'cin', 'restore'))
        writer_in = any(t[0] == 'w' and t[1] == 'in' for t in threads)
        for i, t in enumerate(threads):
            def go(nt, nwriter=writer, ncentral=central, nbias=bias,
                   nslots=slots, nfault=None):
                ts = list(threads)
                ts[i] = nt
                return (nwriter, ncentral, nbias, nslots, tuple(ts), nfault)

            def add(s, d):
                return tuple(v + d if k == s else v for k, v in enumerate(slots))

            def entering(nt, **kw):
                return go(nt, nfault='reader inside with a writer' if writer_in else None,
                          **kw)

            if t[0] == 'r':
                _, pc, slot, left = t
                if pc == 'idle':
                    if left:
                        yield go(('r', 'lb', None, left))
                elif pc == 'lb':
                    if bias:
                        for s in range(NSLOTS):
                            yield go(('r', 'add', s, left))
                    else:
                        yield go(('r', 'word', None, left))
                elif pc == 'add':
                    if mutant == 'no-recheck':
                        yield entering(('r', 'in', slot, left), nslots=add(slot, 1))
                    else:
                        yield go(('r', 'chk', slot, left), nslots=add(slot, 1))
                elif pc == 'chk':
                    if bias:
                        yield entering(('r', 'in', slot, left))
                    else:
                        yield go(('r', 'word', None, left), nslots=add(slot, -1))
                elif pc == 'in':
                    yield go(('r', 'idle', None, left - 1), nslots=add(slot, -1))
                elif pc == 'word':
                    if not writer:
                        npc = 'cin' if mutant == 'restore-outside' else 'restore'
                        yield entering(('r', npc, None, left), ncentral=central + 1)
                elif pc == 'restore':
                    yield go(('r', 'cin', None, left))
                    if not bias:
                        yield go(('r', 'cin', None, left), nbias=1)
                elif pc == 'cin':
                    if mutant == 'restore-outside':
                        yield go(('r', 'late', None, left), ncentral=central - 1)
                    else:
                        yield go(('r', 'idle', None, left - 1), ncentral=central - 1)
                elif pc == 'late':
                    yield go(('r', 'idle', None, left - 1))
                    if not bias:
                        yield go(('r', 'idle', None, left - 1), nbias=1)
            else:
                _, pc, k, left = t
                if pc == 'idle':
                    if left and not writer and central == 0:
                        yield go(('w', 'lb', 0, left), nwriter=1)
                elif pc == 'lb':
                    if not bias:
                        yield go(('w', 'in', 0, left),
                                 nfault='writer inside with a reader' if readers_in else None)
                    elif mutant == 'scan-first':
                        yield go(('w', 'scan', 0, left))
                    else:
                        yield go(('w', 'scan', 0, left), nbias=0)
                elif pc == 'scan':
                    if k == NSLOTS:
                        if mutant == 'scan-first':
                            yield go(('w', 'off', k, left))
                        else:
                            yield go(('w', 'in', k, left),
                                     nfault='writer inside with a reader' if readers_in else None)
                    elif slots[k] == 0:
                        yield go(('w', 'scan', k + 1, left))
                elif pc == 'off':
                    yield go(('w', 'in', k, left), nbias=0,
                             nfault='writer inside with a reader' if readers_in else None)
                elif pc == 'in':
                    yield go(('w', 'idle', 0, left - 1), nwriter=0)

    def judge(state):
        writer, central, _, slots, threads, fault = state
        if fault:
            return fault
        if not all(t[1] == 'idle' and t[-1] == 0 for t in threads):
            return 'a thread cannot go on'
        if writer or central or any(slots):
            return 'words not clean'
        return None

    return explore(start, successors, judge)


CONFIGS = [  # readers, writers, rounds
    (1, 1, 2), (2, 1, 1), (2, 1, 2), (3, 1, 1), (2, 2, 1), (1, 2, 2),
]
MUTANT_CONFIG = (2, 1, 2)


def main():
    return main_over_configs(__doc__, 'rwlock-biased',
                             lambda r, w, k: '%d reader(s), %d writer(s), %d round(s)' % (r, w, k),
                             model, CONFIGS, 'READERS WRITERS ROUNDS', MUTANT_CONFIG,
                             ('no-recheck', 'scan-first', 'restore-outside'), sleeps=False)


if __name__ == '__main__':
    sys.exit(main())
