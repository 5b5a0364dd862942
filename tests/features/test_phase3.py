"""Testing plan phase 3 as executable Gherkin (features/phase3/)."""

from pytest_bdd import scenarios

scenarios("phase3")
