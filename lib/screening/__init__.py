"""Screening funnels for clinical-trial eligibility on de-identified registry extracts.

Example
-------
>>> from screening import load_extract, screen
>>> s = screen(load_extract("data/synthetic"))
>>> s.summary()["patients"].tolist()    # eligible, excluded, not assessable
[90, 4535, 375]
"""

from screening.engine.funnel import Screening, screen
from screening.engine.whatif import Comparison, compare
from screening.errors import BundleError, ExtractError, ProtocolError, ScreeningError
from screening.io.extract import Extract, load_extract
from screening.rules.protocol import Criterion, Protocol, load_protocol

__version__ = "0.1.0"

__all__ = ["BundleError", "Comparison", "Criterion", "Extract", "ExtractError", "Protocol", "ProtocolError",
           "Screening", "ScreeningError", "compare", "load_extract", "load_protocol", "screen", "whatif_panel",
           "__version__"]


def __getattr__(name: str):
    # The panel pulls in ipywidgets: imported on first use, not with the package.
    if name == "whatif_panel":
        from screening.views.panel import whatif_panel

        return whatif_panel
    raise AttributeError(f"module 'screening' has no attribute {name!r}")
