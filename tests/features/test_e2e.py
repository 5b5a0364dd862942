"""The e2e prediction-to-profit flow as executable Gherkin (features/e2e/)."""

from pytest_bdd import scenarios

scenarios("e2e")
