@phase4
Feature: Test 4.5 - opposite side signal
  A short signal for a pair and timeframe that holds an open long waits in the queue until the
  long closes, then executes (SPEC §7). On a spot market a short cannot be opened at all and is
  rejected (short_not_supported_on_spot); the long stays untouched either way.

  Background:
    Given the trading system runs with the seed user "maaz"

  @t4_5
  Scenario: A short against an open long on a spot market is refused
    Given a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001
    When a short signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "rejected" and reason "short_not_supported_on_spot"
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And the queue holds 0 signals
    And binance received 1 market buy of 0.00020 BTCUSDT
    And binance shows 3 open orders for BTCUSDT

  @t4_5 @needs_venue_change @needs_price_control
  Scenario: A short against an open long on a perpetual waits for the long to close, then executes
    Given bybit trades BTCUSDT as a linear perpetual
    And a long signal for BTCUSDT 60 on bybit was sent at 95992.3 with order size 0.001
    When a short signal for BTCUSDT 60 on bybit is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "queued" and reason "opposite_side_open"
    And logs show "Opposite side signal, queuing until closure" for BTCUSDT
    And the BTCUSDT 60 long group on bybit is listed with status "partially_filled"
    # the long only: leg 0 market buy 0.000200, DCA buys 0.000301 @ 95512.33 and 0.000505 @ 95032.37,
    # leg 0's take-profit sell 0.000200 @ 96952.22 (Bybit step 0.000001)
    And bybit received 1 market buy of 0.000200 BTCUSDT
    And bybit shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | buy  | limit | 95512.33 | 0.000301 |
      | buy  | limit | 95032.37 | 0.000505 |
      | sell | limit | 96952.22 | 0.000200 |
    When an exit signal for BTCUSDT 60 on bybit is sent
    Then the webhook is accepted with outcome "exited"
    And the BTCUSDT 60 long group on bybit is listed with status "closed"
    And the BTCUSDT 60 short group on bybit is listed with status "partially_filled"
    # the short's leg 0 is a market sell of 0.000200; its DCA legs rest above the fill:
    #   95992.30 × 1.005 = 96472.2615 → 96472.26 ; 28.79769 / 96472.26 = 0.00029851 → 0.000298
    #   95992.30 × 1.010 = 96952.223  → 96952.22 ; 47.99615 / 96952.22 = 0.00049505 → 0.000495
    # and its take-profit buys below: 95992.30 × 0.99 = 95032.377 → 95032.37
    And bybit received 2 market sells of 0.000200 BTCUSDT
    And bybit shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | sell | limit | 96472.26 | 0.000298 |
      | sell | limit | 96952.22 | 0.000495 |
      | buy  | limit | 95032.37 | 0.000200 |
    And the queue holds 0 signals
