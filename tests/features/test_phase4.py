"""Testing plan phase 4 as executable Gherkin (features/phase4/)."""

from pytest_bdd import scenarios

scenarios("phase4")
