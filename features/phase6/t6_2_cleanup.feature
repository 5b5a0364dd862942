@phase6
Feature: Test 6.2 - cleanup of one user's positions
  Cleaning one user deletes their position groups with their pyramids, DCA legs and orders,
  keeps every other user's data, and leaves the database constraints intact.

  Background:
    Given the trading system runs with the seed user "maaz"
    And a second user "zmomz" with the seed configuration

  @t6_2
  Scenario: Cleaning zmomz removes only zmomz's positions
    Given a long signal for BTCUSDT 60 on binance was sent by "zmomz" at 95992.3 with order size 0.001
    And a long signal for ETHUSDT 60 on binance was sent at 3394.0
    When the positions of "zmomz" are cleaned
    And the positions are exported from the database
    Then the export holds no group of "zmomz"
    And the export holds the ETHUSDT 60 group on binance with status "partially_filled"
    And the database has no orphaned pyramids, legs, orders or fills
    And the database state verifies clean
