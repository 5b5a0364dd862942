"""Testing plan phase 6 as executable Gherkin (features/phase6/)."""

from pytest_bdd import scenarios

scenarios("phase6")
