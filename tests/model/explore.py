"""Breadth-first exploration of a model's states, shared by the models here."""
import argparse
from collections import deque


def explore(start, successors, judge):
    """Visit every state reachable from start through successors(state);
    judge(state) names the fault of a state with no successor, or returns
    None.  Returns the number of states and the (fault, state) pairs."""
    seen = {start}
    todo = deque([start])
    faults = []
    while todo:
        state = todo.popleft()
        stuck = True
        for nxt in successors(state):
            stuck = False
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
        if stuck:
            fault = judge(state)
            if fault:
                faults.append((fault, state))
    return len(seen), faults


def verdict(faults):
    """'ok', or the first fault and the state it was found in."""
    return '%s in %r' % faults[0] if faults else 'ok'


def mutants_caught(label, run, mutants):
    """Run each mutant (run(name) returns explore's pair) and say whether
    the model caught it; True when every one was."""
    caught = True
    for mutant in mutants:
        _, faults = run(mutant)
        print('%s, mutant %s: %s' % (label, mutant, 'caught' if faults else 'NOT caught'))
        caught &= bool(faults)
    return caught


def main_over_configs(doc, label, describe, model, configs, config_help,
                      mutant_config, mutants, sleeps=True):
    """The command line shared by the models whose configurations are a
    tuple of counts, each explored without and with spurious returns (only
    without for a model where nothing sleeps): --spurious, --mutant NAME and
    a configuration of their own, or the built-in set and every mutant.
    Returns the exit status."""
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    if sleeps:
        ap.add_argument('--spurious', action='store_true')
    ap.add_argument('--mutant', default='')
    ap.add_argument('config', nargs='*', type=int,
                    help='%s (default: the built-in set)' % config_help)
    a = ap.parse_args()
    failed = False
    for config in [tuple(a.config)] if a.config else configs:
        if not sleeps:
            spurious_runs = [False]
        elif a.config:
            spurious_runs = [a.spurious]
        else:
            spurious_runs = [False, True]
        for spurious in spurious_runs:
            n, faults = model(*config, spurious=spurious, mutant=a.mutant)
            print('%s: %s%s: %d states, %s'
                  % (label, describe(*config), ', spurious returns' if spurious else '',
                     n, verdict(faults)))
            failed |= bool(faults)
    if not a.config and not a.mutant:
        failed |= not mutants_caught(label, lambda m: model(*mutant_config, mutant=m),
                                     mutants)
    return 1 if failed else 0
