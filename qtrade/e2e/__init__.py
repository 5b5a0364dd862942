"""The e2e prediction-to-profit flow (seed 001) against the engine service, and the pieces
of ``qtrade run`` (docs/e2e.md).

Typical use, against anything that fits :class:`ServiceApi` (the feature suite's backends
do)::

    result = run_flow(api, FlowSettings(user_id=user_id))
    Path("out/e2e_report.json").write_text(flow_report(result).to_json())
"""

from qtrade.e2e.api import HttpServiceApi, ServiceApi, ServiceCallError
from qtrade.e2e.flow import PHASE_FALLBACKS, FlowResult, PhaseOutcome, run_flow
from qtrade.e2e.predictor import (
    HttpPredictor,
    PathPredictor,
    Prediction,
    PredictionError,
    PredictionSource,
    ServicePredictor,
)
from qtrade.e2e.report import flow_report
from qtrade.e2e.settings import FlowSettings, FlowSettingsError

__all__ = [
    "PHASE_FALLBACKS",
    "FlowResult",
    "FlowSettings",
    "FlowSettingsError",
    "HttpPredictor",
    "HttpServiceApi",
    "PathPredictor",
    "PhaseOutcome",
    "Prediction",
    "PredictionError",
    "PredictionSource",
    "ServiceApi",
    "ServiceCallError",
    "ServicePredictor",
    "flow_report",
    "run_flow",
]
