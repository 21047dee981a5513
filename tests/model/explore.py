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
