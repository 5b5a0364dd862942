"""Testing plan phase 7 as executable Gherkin (features/phase7/)."""

from pytest_bdd import scenarios

scenarios("phase7")
