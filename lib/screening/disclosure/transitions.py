"""Moves between statuses a variant protocol cannot produce, decided from the two protocols alone.

The ``transitions`` table crosses each patient's status under the reference
protocol with their status under a variant. Some moves are impossible whatever
the data: a variant that only loosens criteria never excludes a patient the
reference admitted. Such a zero gives nothing away, so it is shown as ``0`` and
the audit counts it as known (:func:`structural_transitions`); every other
zero stays ``≤10``.
"""

from __future__ import annotations

from screening.disclosure.categories import known_zero
from screening.disclosure.relations import Published
from screening.engine.frontier import looser
from screening.engine.status import STATUSES
from screening.engine.sweeps import KEY_SWEEPS
from screening.rules.library import RULES
from screening.rules.protocol import Protocol

__all__ = ["criterion_change", "impossible_transitions", "structural_transitions", "LOOSER", "TIGHTER",
           "SAME_UNKNOWNS", "ANY"]

#: How a variant's criterion relates to the reference's, for every completion of the missing values.
LOOSER, TIGHTER, SAME_UNKNOWNS, ANY = "looser", "tighter", "same unknowns", "any"
#: Moves between statuses (reference → variant) no patient can make, by the kinds of change that allow none.
_IMPOSSIBLE_WHEN = {("eligible", "excluded"): {LOOSER}, ("not_assessable", "excluded"): {LOOSER},
                    ("eligible", "not_assessable"): {LOOSER, SAME_UNKNOWNS},
                    ("excluded", "eligible"): {TIGHTER}, ("excluded", "not_assessable"): {TIGHTER},
                    ("not_assessable", "eligible"): {TIGHTER, SAME_UNKNOWNS}}


def criterion_change(a, b) -> str | None:
    """How criterion ``b`` (the variant's) relates to ``a`` (the reference's, same id); None when they are alike.

    :data:`LOOSER`: whatever the missing values are, everyone ``a`` passes ``b`` passes (a criterion dropped,
    a one-sided threshold loosened); :data:`TIGHTER` the reverse (a criterion added, a threshold tightened);
    :data:`SAME_UNKNOWNS`: other thresholds on the one value it reads, so it is unknown for the same patients;
    :data:`ANY`: anything else. Only the thresholds the funnel sweeps count as one-sided
    (:data:`~screening.engine.sweeps.KEY_SWEEPS`, :func:`~screening.engine.frontier.looser`).

    >>> from screening.rules.protocol import load_protocol
    >>> p, q = load_protocol("misle-phase2"), load_protocol("misle-phase2", {"sledai.min": 4})
    >>> criterion_change(p.criterion("sledai"), q.criterion("sledai")), criterion_change(None, p.criterion("age"))
    ('looser', 'tighter')
    """
    if a is None or b is None:
        return None if a is b else (TIGHTER if a is None else LOOSER)
    if (a.rule, a.kind) != (b.rule, b.kind):
        return ANY
    changed = [k for k in dict.fromkeys([*a.params, *b.params]) if a.params.get(k) != b.params.get(k)]
    if not changed:
        return None
    ways = set()
    for k in changed:
        va, vb = a.params.get(k), b.params.get(k)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
        if f"{a.id}.{k}" in KEY_SWEEPS and numbers:
            ways.add(LOOSER if looser(k, vb, va) else TIGHTER)
        else:
            ways.add(ANY)
    if len(ways) == 1 and ANY not in ways:
        return ways.pop()
    one = RULES[a.rule].one_column_of(a.params) if a.rule in RULES else None
    if one and one == RULES[b.rule].one_column_of(b.params):
        return SAME_UNKNOWNS  # a threshold on one value, moved both ways: unknown exactly where it is missing
    return ANY


def impossible_transitions(protocol: Protocol, variant: Protocol, policy: str) -> set[tuple[str, str]]:
    """Moves (reference status, variant status) no patient can make, decided from the two protocols alone.

    A patient's status changes only through the criteria that differ; a move is impossible when every
    differing criterion changed in a way that cannot produce it (a loosened criterion never excludes anyone
    the reference admitted, ...). Under ``exclude`` or ``include`` no one is not assessable.

    >>> from screening.rules.protocol import load_protocol
    >>> p = load_protocol("misle-phase2")
    >>> sorted(impossible_transitions(p, p.with_overrides({"sledai.min": 4}), "separate"))
    [('eligible', 'excluded'), ('eligible', 'not_assessable'), ('not_assessable', 'excluded')]
    """
    statuses = list(STATUSES)
    out = {(a, b) for a in statuses for b in statuses
           if policy != "separate" and "not_assessable" in (a, b)}
    ours, theirs = {c.id: c for c in protocol.counted}, {c.id: c for c in variant.counted}
    changes = {criterion_change(ours.get(i), theirs.get(i)) for i in dict.fromkeys([*ours, *theirs])} - {None}
    for a in statuses:
        for b in statuses:
            if a != b and changes <= _IMPOSSIBLE_WHEN[(a, b)]:
                out.add((a, b))
    return out


def structural_transitions(pub: Published, protocol: Protocol, policy: str, variant) -> None:
    """Moves between statuses the variant cannot produce (:func:`impossible_transitions`): shown as 0, and known to
    the audit as to the reader."""
    from screening.rules.protocol import load_protocol

    other = load_protocol(variant) if isinstance(variant, str) else variant
    for a, row in enumerate(STATUSES):
        for col in STATUSES:
            if (row, col) in impossible_transitions(protocol, other, policy):
                known_zero(pub, ("transitions", a, col))
