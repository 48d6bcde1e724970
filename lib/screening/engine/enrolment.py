"""Expected enrolment: the eligible pool × (1 − screen failure) × consent, over a range of screen failure.

Example
-------
>>> expected_enrolment(87, 368)["enrolment_low"].tolist()
[21.3, 111.5]
"""

from __future__ import annotations

import pandas as pd

from screening.errors import ProtocolError

__all__ = ["SCREEN_FAILURE_RANGE", "screen_failure_range", "expected_enrolment"]

#: Share of screened patients who failed screening in two SLE trials: BLISS-BELIEVE (NCT03312907,
#: 104 of 396 screened, 26%) and MUSE (anifrolumab phase IIb, NCT01438489, 319 of 626, 51%).
SCREEN_FAILURE_RANGE = (0.26, 0.51)


def screen_failure_range(rate: float | tuple[float, float] | list[float]) -> tuple[float, float]:
    """A screen-failure rate or (low, high) range as a sorted pair.

    >>> screen_failure_range(0.3), screen_failure_range([0.51, 0.26])
    ((0.3, 0.3), (0.26, 0.51))
    """
    pair = (rate, rate) if isinstance(rate, (int, float)) else tuple(rate)
    if len(pair) != 2:
        raise ProtocolError("enrolment", "screen_failure", "a rate or a (low, high) pair of rates", hint=f"Got {rate}.")
    return (min(pair), max(pair))


def expected_enrolment(eligible: int, not_assessable: int, consent_rate: float = 0.5,
                       screen_failure: float | tuple[float, float] = SCREEN_FAILURE_RANGE) -> pd.DataFrame:
    """Patients expected to enrol, one row per pool: the eligible patients, then adding every not-assessable one.

    ``enrolment_low`` uses the highest screen-failure rate, ``enrolment_high`` the lowest
    (the default range: :data:`SCREEN_FAILURE_RANGE`).
    """
    rates = screen_failure_range(screen_failure)
    for name, rate in (("consent_rate", consent_rate), ("screen_failure", rates[0]), ("screen_failure", rates[1])):
        if not 0 <= rate <= 1:
            raise ProtocolError("enrolment", name, "a rate from 0 to 1", hint=f"Got {rate}.")
    pools = [int(eligible), int(eligible + not_assessable)]
    return pd.DataFrame({"scenario": ["eligible pool only", "including not-assessable patients"], "pool": pools,
                         "enrolment_low": [round(p * (1 - rates[1]) * consent_rate, 1) for p in pools],
                         "enrolment_high": [round(p * (1 - rates[0]) * consent_rate, 1) for p in pools]})
