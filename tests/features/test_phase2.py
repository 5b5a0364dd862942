"""Testing plan phase 2 as executable Gherkin (features/phase2/)."""

from pytest_bdd import scenarios

scenarios("phase2")
