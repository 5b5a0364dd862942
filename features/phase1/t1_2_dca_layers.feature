@phase1
Feature: Test 1.2 - DCA layers after the base entry fills (Binance)
  The market leg 0 fills at once; the engine detects the fill and places the DCA legs of the
  seed grid (SPEC §14: the seed user's 3-level grid, 20/30/50 %, gaps 0/-0.5/-1 %, not the
  plan's 20 % x 3 at -0.5/-1/-1.5 %). When the price trades through the DCA levels they fill,
  each gets its own take-profit and the weighted average entry is recalculated.

  Background:
    Given the trading system runs with the seed user "maaz"
    And a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001

  @t1_2 @needs_price_control
  Scenario: DCA legs are placed after the fill and the average follows the DCA fills
    Then logs show "Order filled" for BTCUSDT
    And the BTCUSDT 60 group on binance has 1 of 3 entry legs filled
    And binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | buy  | limit | 95512.33 | 0.00030  |
      | buy  | limit | 95032.37 | 0.00050  |
      | sell | limit | 96952.22 | 0.00020  |
    When the orders are exported from the database
    Then the export holds 2 "dca" orders for BTCUSDT with status "open"
    # the price trades down to 95500: leg 1 (95512.33) fills at its limit price, leg 2 does not
    When the price of BTCUSDT on binance moves to 95500
    Then logs show "Order filled" for BTCUSDT 2 times
    And the BTCUSDT 60 group on binance has 2 of 3 entry legs filled
    # average = (0.00020 × 95992.30 + 0.00030 × 95512.33) / 0.00050
    #         = (19.198460 + 28.653699) / 0.00050 = 47.852159 / 0.0005 = 95704.318
    And the BTCUSDT 60 group on binance has average entry 95704.318 and open quantity 0.00050
    And the BTCUSDT 60 group on binance has these legs:
      | pyramid | leg | status | filled_quantity | average_fill_price | tp_price |
      | 0       | 0   | filled | 0.00020         | 95992.30           | 96952.22 |
      | 0       | 1   | filled | 0.00030         | 95512.33           | 96467.45 |
      | 0       | 2   | resting | 0               |                    |          |
    # leg 1's own take-profit now rests: 95512.33 × 1.01 = 96467.4533 → 96467.45
    And binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | buy  | limit | 95032.37 | 0.00050  |
      | sell | limit | 96952.22 | 0.00020  |
      | sell | limit | 96467.45 | 0.00030  |
    When the price of BTCUSDT on binance moves to 95000
    Then the BTCUSDT 60 group on binance has 3 of 3 entry legs filled
    And the BTCUSDT 60 group on binance is listed with status "active" and 1 of 5 pyramids
    # SPEC §4: 0.00020 × 95992.30 + 0.00030 × 95512.33 + 0.00050 × 95032.37
    #        = 19.198460 + 28.653699 + 47.516185 = 95.368344 ; / 0.00100 = 95368.344
    And the BTCUSDT 60 group on binance has average entry 95368.344 and open quantity 0.00100
    # unrealised = (95000 − 95368.344) × 0.001 = −0.368344 ; % = −0.368344 / 95.368344 × 100
    And the BTCUSDT 60 group on binance shows unrealised PnL -0.368344 and -0.39 %
    And binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | sell | limit | 96952.22 | 0.00020  |
      | sell | limit | 96467.45 | 0.00030  |
      | sell | limit | 96933.01 | 0.00050  |
