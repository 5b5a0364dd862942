"""Testing plan phase 1 as executable Gherkin (features/phase1/)."""

from pytest_bdd import scenarios

scenarios("phase1")
