@phase6
Feature: Test 6.1 - database consistency after a full run
  After a run that opens, pyramids, fills, takes profit, queues and exits, the exported
  database holds only valid groups, no orphaned pyramids, legs or orders, timestamps in order
  (created ≤ updated ≤ closed) and realised PnL that can be recomputed from the stored fills.

  Background:
    Given the trading system runs with the seed user "maaz"

  @t6_1 @needs_price_control
  Scenario: A full run leaves a consistent database
    Given a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001
    And the price of BTCUSDT on binance moved to 95000
    And 1 minute passed
    And a long signal for BTCUSDT 60 on binance was sent at 95000 with order size 0.001
    And the price of BTCUSDT on binance moved to 96500
    And a long signal for SOLUSDT 60 on bybit was sent at 125.97
    And a long signal for XRPUSDT 15 on binance was sent
    And a long signal for DOTUSDT 60 on bybit was queued
    And an exit signal for BTCUSDT 60 on binance was sent
    When the positions are exported from the database
    And the users are exported from the database
    Then every exported group has a valid status
    And the export holds the BTCUSDT 60 group on binance with status "closed" and a closed_at time
    And the export holds the DOTUSDT 60 group on bybit with status "partially_filled"
    And the database has no orphaned pyramids, legs, orders or fills
    And every exported group has created ≤ updated ≤ closed
    And the realised PnL of every closed group equals the PnL recomputed from its fills
    And the database state verifies clean
    And the users export holds the user "maaz" without any secret in clear
