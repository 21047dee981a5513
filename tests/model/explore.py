"""Breadth-first exploration of a model's states, shared by the models here."""
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
