#!/usr/bin/env python3
"""Exhaustive check of rwlock-percpu's reader slots and drain (primitives/rwlock.c).

A model of the lock's shared words -- the state's WRITER and DSLEEP bits,
two reader slots, the drain word -- and of every step the lock's threads
take on them, each step one atomic action (a load, a read-modify-write, or
a futex call); interleaving them is sequential consistency, which the
seq_cst slot and state accesses give the real lock.  Every interleaving of
R readers and W writers, each doing its section ROUNDS times, is explored
breadth-first.  Checked: no reader is inside while a writer is; no state is
left with a thread that cannot go on (a writer asleep on the drain word
while every slot is empty: a lost wake-up); the words end clean.

The steps, by the function they stand for:
  rwp_read_lock      load the state: a writer holds or waits -> wait until
                     none does, start again; else add to a slot (either:
                     the reader may run on either CPU), load the state: a
                     writer -> back out (rwp_leave) and wait, else inside
  rwp_leave          subtract from the slot entered by; load the state: the
                     slot now empty and DSLEEP set -> CAS DSLEEP off (whoever
                     clears it), bump drain, FUTEX_WAKE one
  rwp_write_lock     take WRITER (writers' own waiting for it is left out:
                     it is rwlock's, checked as rwlock is); read each slot;
                     a taken one -> read drain, set DSLEEP, read the slot
                     again, FUTEX_WAIT on drain, read the slot again; inside;
                     drop DSLEEP if it drained
  write_unlock       clear WRITER
The kernel's queue is a set; FUTEX_WAKE takes any one member, and with
--spurious any sleeper may return on its own.  Readers' waiting for a
writer to leave is modelled as a wait (the step is enabled when the state
shows no writer): its futex is rwlock's.

Mutations (--mutant NAME) must make the check fail: 'no-recheck' (a reader
that added itself does not load the state again), 'sleep-unchecked' (a
writer that set DSLEEP sleeps without reading the slot again),
'leave-ignores-dsleep' (a reader leaving never wakes the drainer).
"""
import sys

from explore import explore, main_over_configs

NSLOTS = 2


def model(nreaders, nwriters, rounds, spurious=False, mutant=""):
    # state: (writer, dsleep, slots, drain, queued, threads, fault)
    # reader: ('r', pc, slot, after, left) -- in 'lchk', slot holds whether
    # the leave emptied the slot; writer: ('w', pc, i, seq, drained, left)
    threads = tuple([('r', 'idle', None, None, rounds)] * nreaders +
                    [('w', 'idle', 0, 0, False, rounds)] * nwriters)
    start = (0, 0, (0,) * NSLOTS, 0, frozenset(), threads, None)

    def successors(state):
        writer, dsleep, slots, drain, queued, threads, fault = state
        if fault:
            return
        readers_in = sum(1 for t in threads if t[0] == 'r' and t[1] == 'in')
        writer_in = any(t[0] == 'w' and t[1] == 'in' for t in threads)
        for i, t in enumerate(threads):
            def go(nt, nwriter=writer, ndsleep=dsleep, nslots=slots,
                   ndrain=drain, nqueued=queued, nfault=None):
                ts = list(threads)
                ts[i] = nt
                return (nwriter, ndsleep, nslots, ndrain, nqueued, tuple(ts), nfault)

            def add(s, d):
                return tuple(v + d if k == s else v for k, v in enumerate(slots))

            if i in queued:
                if spurious:
                    yield go(t[:1] + ('after',) + t[2:], nqueued=queued - {i})
                continue
            if t[0] == 'r':
                _, pc, slot, after, left = t
                if pc == 'idle':
                    if left:
                        yield go(('r', 'pre', None, None, left))
                elif pc == 'pre':
                    if writer:
                        yield go(('r', 'wait', None, None, left))
                    else:
                        for s in range(NSLOTS):
                            yield go(('r', 'add', s, None, left))
                elif pc == 'wait':
                    if not writer:
                        yield go(('r', 'pre', None, None, left))
                elif pc == 'add':
                    npc = 'in' if mutant == 'no-recheck' else 'chk'
                    nt = ('r', npc, slot, None, left)
                    bad = 'reader inside with a writer' if npc == 'in' and writer_in else None
                    yield go(nt, nslots=add(slot, 1), nfault=bad)
                elif pc == 'chk':
                    if writer:
                        yield go(('r', 'leave', slot, 'wait', left))
                    else:
                        yield go(('r', 'in', slot, None, left),
                                 nfault='reader inside with a writer' if writer_in else None)
                elif pc == 'in':
                    yield go(('r', 'leave', slot, 'idle', left))
                elif pc == 'leave':
                    nslots = add(slot, -1)
                    yield go(('r', 'lchk', nslots[slot] == 0, after, left), nslots=nslots)
                elif pc == 'lchk':
                    emptied = slot
                    nleft = left - 1 if after == 'idle' else left
                    if dsleep and emptied and mutant != 'leave-ignores-dsleep':
                        yield go(('r', 'claim', None, after, left))
                    else:
                        yield go(('r', after, None, None, nleft))
                elif pc == 'claim':
                    nleft = left - 1 if after == 'idle' else left
                    if dsleep:
                        yield go(('r', 'bump', None, after, left), ndsleep=0)
                    else:
                        yield go(('r', after, None, None, nleft))
                elif pc == 'bump':
                    yield go(('r', 'wake', None, after, left), ndrain=drain + 1)
                elif pc == 'wake':
                    nleft = left - 1 if after == 'idle' else left
                    done = ('r', after, None, None, nleft)
                    if queued:
                        for j in queued:
                            yield go(done, nqueued=queued - {j})
                    else:
                        yield go(done)
            else:
                _, pc, k, seq, drained, left = t
                if pc == 'idle':
                    if left and not writer:
                        yield go(('w', 'scan', 0, 0, False, left), nwriter=1)
                elif pc == 'scan':
                    if k == NSLOTS:
                        yield go(('w', 'in', k, 0, drained, left),
                                 nfault='writer inside with a reader' if readers_in else None)
                    elif slots[k] == 0:
                        yield go(('w', 'scan', k + 1, 0, drained, left))
                    else:
                        yield go(('w', 'seq', k, 0, True, left))
                elif pc == 'seq':
                    yield go(('w', 'setd', k, drain, drained, left))
                elif pc == 'setd':
                    npc = 'sleep' if mutant == 'sleep-unchecked' else 'rechk'
                    yield go(('w', npc, k, seq, drained, left), ndsleep=1)
                elif pc == 'rechk':
                    if slots[k] == 0:
                        yield go(('w', 'scan', k + 1, 0, drained, left))
                    else:
                        yield go(('w', 'sleep', k, seq, drained, left))
                elif pc == 'sleep':
                    if drain == seq:
                        yield go(('w', 'after', k, 0, drained, left), nqueued=queued | {i})
                    else:
                        yield go(('w', 'after', k, 0, drained, left))
                elif pc == 'after':
                    if slots[k] == 0:
                        yield go(('w', 'scan', k + 1, 0, drained, left))
                    else:
                        yield go(('w', 'seq', k, 0, drained, left))
                elif pc == 'in':
                    yield go(('w', 'unlock', k, 0, drained, left),
                             ndsleep=0 if drained else dsleep)
                elif pc == 'unlock':
                    yield go(('w', 'idle', 0, 0, False, left - 1), nwriter=0)

    def judge(state):
        writer, dsleep, slots, _, _, threads, fault = state
        if fault:
            return fault
        if not all(t[1] == 'idle' and t[-1] == 0 for t in threads):
            return 'lost wake-up'
        if writer or dsleep or any(slots):
            return 'words not clean'
        return None

    return explore(start, successors, judge)


CONFIGS = [  # readers, writers, rounds
    (1, 1, 2), (2, 1, 1), (2, 1, 2), (3, 1, 1), (2, 2, 1), (1, 2, 2),
]
MUTANT_CONFIG = (2, 1, 1)


def main():
    return main_over_configs(__doc__, 'rwlock-percpu',
                             lambda r, w, k: '%d reader(s), %d writer(s), %d round(s)' % (r, w, k),
                             model, CONFIGS, 'READERS WRITERS ROUNDS', MUTANT_CONFIG,
                             ('no-recheck', 'sleep-unchecked', 'leave-ignores-dsleep'))


if __name__ == '__main__':
    sys.exit(main())
